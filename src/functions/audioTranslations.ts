/** POST /v1/audio/translations: speech to English text (multipart upload, streamed through). */
import { registerRoute } from '../hosting/functions/functionsApp';

registerRoute('audioTranslations');
