/** /v1/fine_tuning/jobs: create, list, get and cancel fine-tuning jobs, with their events and checkpoints. */
import { registerRoute } from '../hosting/functions/functionsApp';

registerRoute('fineTuning');
