/** /v1/threads: threads, their messages, and runs (streaming included) with their steps. */
import { functionsProxy } from '../hosting/functionsApp';
import { registerRouteFunction } from '../hosting/azureFunctions';

registerRouteFunction('threads', functionsProxy);
