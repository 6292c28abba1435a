/** POST /v1/audio/translations: speech to English text (multipart upload, streamed through). */
import { functionsProxy } from '../hosting/functions/functionsApp';
import { registerRouteFunction } from '../hosting/functions/azureFunctions';

registerRouteFunction('audioTranslations', functionsProxy);
