/** GET /v1/models/{model}: one mapped model. */
import { functionsProxy } from '../hosting/functions/functionsApp';
import { registerRouteFunction } from '../hosting/functions/azureFunctions';

registerRouteFunction('retrieveModel', functionsProxy);
