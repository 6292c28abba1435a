/** /v1/files: upload (multipart, streamed through), list, get, delete and content of files. */
import { functionsProxy } from '../hosting/functions/functionsApp';
import { registerRouteFunction } from '../hosting/functions/azureFunctions';

registerRouteFunction('files', functionsProxy);
