/** /v1/vector_stores: vector stores, their files and file batches. */
import { registerRoute } from '../hosting/functions/functionsApp';

registerRoute('vectorStores');
