/** GET /v1/models/{model}: one mapped model. */
import { functionsProxy } from '../hosting/functionsApp';
import { registerRouteFunction } from '../hosting/azureFunctions';

registerRouteFunction('retrieveModel', functionsProxy);
