/** GET /v1/models: the models this proxy maps, in OpenAI's list shape. */
import { functionsProxy } from '../hosting/functionsApp';
import { registerRouteFunction } from '../hosting/azureFunctions';

registerRouteFunction('listModels', functionsProxy);
