/** POST /v1/embeddings: the embeddings of the mapped deployment. */
import { functionsProxy } from '../hosting/functions/functionsApp';
import { registerRouteFunction } from '../hosting/functions/azureFunctions';

registerRouteFunction('embeddings', functionsProxy);
