/** /v1/files: upload (multipart, streamed through), list, get, delete and content of files. */
import { registerRoute } from '../hosting/functions/functionsApp';

registerRoute('files');
