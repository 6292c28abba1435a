/** POST /v1/audio/transcriptions: speech to text (multipart upload, streamed through). */
import { functionsProxy } from '../hosting/functionsApp';
import { registerRouteFunction } from '../hosting/azureFunctions';

registerRouteFunction('audioTranscriptions', functionsProxy);
