import { EventEmitter } from 'node:events';

/**
 * "The client went away" as a Node EventEmitter: `aborted`, then one 'abort' event. A host's cheaper stand-in
 * for an AbortSignal, which costs microseconds to make and to listen to, on every call (about a tenth of the
 * local host's work on a small call); undici's request takes either.
 */
export class ClientAbort extends EventEmitter {
  #aborted = false;

  get aborted(): boolean {
    return this.#aborted;
  }

  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.emit('abort');
  }
}

/** What aborts when the client goes away: a web Request's AbortSignal, or a host's ClientAbort. */
export type ClientSignal = AbortSignal | ClientAbort;

/**
 * The request the core serves: the parts of a web `Request` it reads. A web `Request` is one (the Functions
 * adapter passes one); a host may pass a lighter object of its own instead, as the local host does, since
 * constructing a web Request costs more than the rest of a small call.
 */
export interface ProxyRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly body: ReadableStream<Uint8Array> | null;
  /** Aborted when the client goes away. */
  readonly signal: ClientSignal;
  /**
   * A host's faster way to read the whole body, for bodies read whole (JSON): at most `limit` bytes, else it
   * rejects with `exceeded` set. Optional: without it the body stream is read.
   */
  readBody?(limit: number): Promise<Uint8Array>;
}

/**
 * A request body cut short: the client went away. An abort (`AbortError`), which the proxy logs as 499, not as
 * a failure of its own.
 */
export function clientClosedBody(cause?: Error): Error {
  return Object.assign(new Error('The client closed the request body.', { cause }), { name: 'AbortError' });
}

/** Thrown by `readBody` when the body passes its limit. */
export class BodyLimitExceeded extends Error {
  override readonly name = 'BodyLimitExceeded';
}
