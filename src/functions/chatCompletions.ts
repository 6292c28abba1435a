/** POST /v1/chat/completions: the chat completions of the deployment the body's model maps to. */
import { registerRoute } from '../hosting/functions/functionsApp';

registerRoute('chatCompletions');
