/** /v1/files: upload (multipart, streamed through), list, get, delete and content of files. */
import { functionsProxy } from '../hosting/functionsApp';
import { registerRouteFunction } from '../hosting/azureFunctions';

registerRouteFunction('files', functionsProxy);
