/** /v1/vector_stores: vector stores, their files and file batches. */
import { functionsProxy } from '../hosting/functionsApp';
import { registerRouteFunction } from '../hosting/azureFunctions';

registerRouteFunction('vectorStores', functionsProxy);
