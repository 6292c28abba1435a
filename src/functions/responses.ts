/** /v1/responses: the Responses API (create, plain or streaming; get, delete, cancel, input items). */
import { functionsProxy } from '../hosting/functions/functionsApp';
import { registerRouteFunction } from '../hosting/functions/azureFunctions';

registerRouteFunction('responses', functionsProxy);
