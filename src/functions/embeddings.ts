/** POST /v1/embeddings: the embeddings of the mapped deployment. */
import { registerRoute } from '../hosting/functions/functionsApp';

registerRoute('embeddings');
