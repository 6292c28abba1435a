/** POST /v1/audio/translations: speech to English text (multipart upload, streamed through). */
import { functionsProxy } from '../hosting/functionsApp';
import { registerRouteFunction } from '../hosting/azureFunctions';

registerRouteFunction('audioTranslations', functionsProxy);
