/** POST /v1/chat/completions: the chat completions of the deployment the body's model maps to. */
import { functionsProxy } from '../hosting/functions/functionsApp';
import { registerRouteFunction } from '../hosting/functions/azureFunctions';

registerRouteFunction('chatCompletions', functionsProxy);
