/** /v1/responses: the Responses API (create, plain or streaming; get, delete, cancel, input items). */
import { functionsProxy } from '../hosting/functionsApp';
import { registerRouteFunction } from '../hosting/azureFunctions';

registerRouteFunction('responses', functionsProxy);
