/**
 * Everything under the app no other function took: CORS preflights, the mocked billing endpoints of ChatGPT-style
 * web UIs, any route-table entry the host handed here, and an OpenAI-shaped 404 for anything else.
 */
import { registerCatchAll } from '../hosting/functions/functionsApp';

registerCatchAll();
