/** POST /v1/audio/transcriptions: speech to text (multipart upload, streamed through). */
import { functionsProxy } from '../hosting/functions/functionsApp';
import { registerRouteFunction } from '../hosting/functions/azureFunctions';

registerRouteFunction('audioTranscriptions', functionsProxy);
