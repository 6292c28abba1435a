/** /v1/fine_tuning/jobs: create, list, get and cancel fine-tuning jobs, with their events and checkpoints. */
import { functionsProxy } from '../hosting/functionsApp';
import { registerRouteFunction } from '../hosting/azureFunctions';

registerRouteFunction('fineTuning', functionsProxy);
