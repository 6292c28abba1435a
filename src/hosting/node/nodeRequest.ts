/**
 * The Node side of the two hosts that read requests from Node's HTTP server, the local host and the Functions
 * adapter (whose library forwards each request to an HTTP server of its own): a request the core can read without
 * a web Request, and the signal that says its client went away.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyLimitExceeded, ClientAbort, clientClosedBody, HeaderMap, readableToWeb, type ProxyRequest } from '../../core';

/**
 * Aborted when `response` closes before it has been sent whole: the client hung up (or, under the Functions
 * host, the host cancelled its forward of the request, which it does when its client hangs up).
 */
export function clientAbortOf(response: ServerResponse): ClientAbort {
  const abort = new ClientAbort();
  if (response.destroyed) abort.abort();
  else {
    // `on`, not `once`: a response closes once, and `once` wraps the listener in one more function, removed again.
    response.on('close', () => {
      if (!response.writableFinished) abort.abort();
    });
  }
  return abort;
}

/**
 * A request as the core reads it, made straight from Node's IncomingMessage. Not a web Request: constructing one
 * (and its body stream) costs more than the rest of a small call. The body becomes a web stream only if a handler
 * asks for the stream; bodies read whole are collected from Node's stream directly.
 */
export class NodeRequest implements ProxyRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly signal: ClientAbort;
  readonly #req: IncomingMessage;
  #body: ReadableStream<Uint8Array> | null | undefined;

  /** `url` is the request's absolute URL, as its host knows it (a proxy in front may have changed the origin). */
  constructor(req: IncomingMessage, signal: ClientAbort, url: string) {
    this.#req = req;
    this.method = req.method ?? 'GET';
    this.url = url;
    this.signal = signal;
    this.headers = HeaderMap.fromRaw(req.rawHeaders);
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#body === undefined) {
      this.#body = this.method === 'GET' || this.method === 'HEAD' ? null : readableToWeb(this.#req);
    }
    return this.#body;
  }

  readBody(limit: number): Promise<Uint8Array> {
    const req = this.#req;
    if (this.method === 'GET' || this.method === 'HEAD') return Promise.resolve(new Uint8Array(0));
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let total = 0;
      // Reached through these, cleared once the body is read: a listener left on the request (see onEnd) that held
      // `resolve` would hold the promise, and so the body, for as long as the request lives (a stream's, minutes).
      let onBody: ((body: Buffer) => void) | undefined = resolve;
      let onFailure: ((error: Error) => void) | undefined = reject;
      const settle = (): void => {
        onBody = undefined;
        onFailure = undefined;
      };
      /** A body cut short: its listeners go, so that nothing more is read or heard. */
      const stop = (error: Error): void => {
        const fail = onFailure;
        settle();
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', onError);
        req.off('close', onClose);
        fail?.(error);
      };
      const onData = (chunk: Buffer): void => {
        total += chunk.length;
        if (total > limit) {
          // Stop reading; Node discards the rest once the (400) response is sent.
          req.pause();
          stop(new BodyLimitExceeded());
          return;
        }
        chunks.push(chunk);
      };
      const onEnd = (): void => {
        // The listeners stay: the request emits nothing more but its 'close', which finds the body settled.
        // Removing four listeners cost more than the rest of the read on a small body. They keep no chunk and no
        // way to the promise.
        const done = onBody;
        settle();
        const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
        chunks.length = 0;
        done?.(body);
      };
      const onError = (error: Error): void => {
        if (onFailure !== undefined) stop(clientClosedBody(error));
      };
      const onClose = (): void => {
        if (onFailure !== undefined) stop(clientClosedBody());
      };
      // `on`, not `once`: `once` wraps each in one more function.
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('error', onError);
      req.on('close', onClose);
    });
  }
}
