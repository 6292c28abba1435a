/** POST /v1/audio/speech: text to speech; the audio streams back with its content type. */
import { functionsProxy } from '../hosting/functionsApp';
import { registerRouteFunction } from '../hosting/azureFunctions';

registerRouteFunction('audioSpeech', functionsProxy);
