/** /v1/assistants: create, list, get, modify and delete assistants. */
import { functionsProxy } from '../hosting/functionsApp';
import { registerRouteFunction } from '../hosting/azureFunctions';

registerRouteFunction('assistants', functionsProxy);
