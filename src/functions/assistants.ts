/** /v1/assistants: create, list, get, modify and delete assistants. */
import { functionsProxy } from '../hosting/functions/functionsApp';
import { registerRouteFunction } from '../hosting/functions/azureFunctions';

registerRouteFunction('assistants', functionsProxy);
