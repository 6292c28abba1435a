/** POST /v1/images/edits: edits of an uploaded image (multipart), by the deployment its model field maps to. */
import { registerRoute } from '../hosting/functions/functionsApp';

registerRoute('imageEdits');
