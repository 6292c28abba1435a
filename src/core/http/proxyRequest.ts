/**
 * "The client went away": `aborted`, and the 'abort' listeners called once when it happens. A host's cheaper
 * stand-in for an AbortSignal, which costs microseconds to make and to listen to, on every call (about a tenth of
 * the local host's work on a small call). It has an EventTarget's two listener methods, which is all the upstream
 * call (`core/upstream/upstream.ts`) asks of a signal, as undici's `request` does (lib/api/api-request.js): an
 * EventEmitter, as this was, cost undici a wrapped `once` listener and its removal on every call.
 */
export class ClientAbort {
  #aborted = false;
  /** One listener a call (undici's), so one field before any array. */
  #listener: (() => void) | undefined;
  #more: Array<() => void> | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Calls `listener` when the client goes away (once: there is one abort). */
  addEventListener(type: 'abort', listener: () => void): void {
    if (type !== 'abort' || this.#aborted) return;
    if (this.#listener === undefined) this.#listener = listener;
    else (this.#more ??= []).push(listener);
  }

  removeEventListener(type: 'abort', listener: () => void): void {
    if (type !== 'abort') return;
    if (this.#listener === listener) this.#listener = undefined;
    else if (this.#more !== undefined) {
      const at = this.#more.indexOf(listener);
      if (at !== -1) this.#more.splice(at, 1);
    }
  }

  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    const first = this.#listener;
    const more = this.#more;
    this.#listener = undefined;
    this.#more = undefined;
    first?.();
    if (more !== undefined) for (const listener of more) listener();
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
