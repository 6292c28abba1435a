/** POST /v1/audio/speech: text to speech; the audio streams back with its content type. */
import { registerRoute } from '../hosting/functions/functionsApp';

registerRoute('audioSpeech');
