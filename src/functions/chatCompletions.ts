/** POST /v1/chat/completions: the chat completions of the deployment the body's model maps to. */
import { functionsProxy } from '../hosting/functionsApp';
import { registerRouteFunction } from '../hosting/azureFunctions';

registerRouteFunction('chatCompletions', functionsProxy);
