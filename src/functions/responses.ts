/** /v1/responses: the Responses API (create, plain or streaming; get, delete, cancel, input items). */
import { registerRoute } from '../hosting/functions/functionsApp';

registerRoute('responses');
