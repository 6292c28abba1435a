/** /v1/batches: create, list, get and cancel batch jobs. */
import { functionsProxy } from '../hosting/functions/functionsApp';
import { registerRouteFunction } from '../hosting/functions/azureFunctions';

registerRouteFunction('batches', functionsProxy);
