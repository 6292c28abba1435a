/** GET /v1/models: the models this proxy maps, in OpenAI's list shape. */
import { functionsProxy } from '../hosting/functions/functionsApp';
import { registerRouteFunction } from '../hosting/functions/azureFunctions';

registerRouteFunction('listModels', functionsProxy);
