/** POST /v1/images/edits: edits of an uploaded image (multipart), by the deployment its model field maps to. */
import { functionsProxy } from '../hosting/functions/functionsApp';
import { registerRouteFunction } from '../hosting/functions/azureFunctions';

registerRouteFunction('imageEdits', functionsProxy);
