/** /v1/batches: create, list, get and cancel batch jobs. */
import { registerRoute } from '../hosting/functions/functionsApp';

registerRoute('batches');
