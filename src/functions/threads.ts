/** /v1/threads: threads, their messages, and runs (streaming included) with their steps. */
import { registerRoute } from '../hosting/functions/functionsApp';

registerRoute('threads');
