/** POST /v1/audio/speech: text to speech; the audio streams back with its content type. */
import { functionsProxy } from '../hosting/functions/functionsApp';
import { registerRouteFunction } from '../hosting/functions/azureFunctions';

registerRouteFunction('audioSpeech', functionsProxy);
