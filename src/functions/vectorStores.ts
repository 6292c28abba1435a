/** /v1/vector_stores: vector stores, their files and file batches. */
import { functionsProxy } from '../hosting/functions/functionsApp';
import { registerRouteFunction } from '../hosting/functions/azureFunctions';

registerRouteFunction('vectorStores', functionsProxy);
