/** /v1/batches: create, list, get and cancel batch jobs. */
import { functionsProxy } from '../hosting/functionsApp';
import { registerRouteFunction } from '../hosting/azureFunctions';

registerRouteFunction('batches', functionsProxy);
