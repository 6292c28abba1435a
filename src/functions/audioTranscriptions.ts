/** POST /v1/audio/transcriptions: speech to text (multipart upload, streamed through). */
import { registerRoute } from '../hosting/functions/functionsApp';

registerRoute('audioTranscriptions');
