/** GET /v1/models/{model}: one mapped model. */
import { registerRoute } from '../hosting/functions/functionsApp';

registerRoute('retrieveModel');
