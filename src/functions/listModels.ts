/** GET /v1/models: the models this proxy maps, in OpenAI's list shape. */
import { registerRoute } from '../hosting/functions/functionsApp';

registerRoute('listModels');
