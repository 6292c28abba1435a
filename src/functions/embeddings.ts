/** POST /v1/embeddings: the embeddings of the mapped deployment. */
import { functionsProxy } from '../hosting/functionsApp';
import { registerRouteFunction } from '../hosting/azureFunctions';

registerRouteFunction('embeddings', functionsProxy);
