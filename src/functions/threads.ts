/** /v1/threads: threads, their messages, and runs (streaming included) with their steps. */
import { functionsProxy } from '../hosting/functions/functionsApp';
import { registerRouteFunction } from '../hosting/functions/azureFunctions';

registerRouteFunction('threads', functionsProxy);
