/** /v1/assistants: create, list, get, modify and delete assistants. */
import { registerRoute } from '../hosting/functions/functionsApp';

registerRoute('assistants');
