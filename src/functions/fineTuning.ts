/** /v1/fine_tuning/jobs: create, list, get and cancel fine-tuning jobs, with their events and checkpoints. */
import { functionsProxy } from '../hosting/functions/functionsApp';
import { registerRouteFunction } from '../hosting/functions/azureFunctions';

registerRouteFunction('fineTuning', functionsProxy);
