/**
 * The upstream HTTP call and the headers that cross the proxy in each direction.
 *
 * One keep-alive connection pool (undici Agent) is shared by every request of an instance. The call is dispatched
 * to it with a handler of the proxy's own (`UpstreamCall`), not made with undici's `fetch`, which keeps a streamed
 * request body in memory until the upload ends (nodejs/undici#4058), nor its `request`, which makes a Node Readable
 * for every answer. Network failures become OpenAI-shaped 502/504 errors that name the cause but never the
 * credential.
 */
import { Readable } from 'node:stream';
import { Agent, errors } from 'undici';
import { proxyError, ProxyError } from '../errors/catalogue';
import { HeaderMap } from '../http/headerMap';
import { StagedBody, type BodyFeed } from '../streams/stagedBody';
import type { ClientSignal } from '../http/proxyRequest';
import { StagedBodyResponse, NULL_BODY_STATUSES, type ProxyResponse } from '../http/proxyResponse';

export interface UpstreamRequest {
  url: string;
  method: string;
  /** Lower-case names; a plain record, since that is what the HTTP client takes (no Headers to build and copy). */
  headers: Readonly<Record<string, string>>;
  body?: Uint8Array | ReadableStream<Uint8Array> | null;
  signal?: ClientSignal;
  /** Give up when the response headers have not come after this long (the client's default otherwise). */
  headersTimeoutMs?: number;
  /** Keep only the response headers this accepts (all by default). */
  keepResponseHeader?: (name: string) => boolean;
}

export interface UpstreamClientOptions {
  /** How long to wait for the response headers, ms. Long non-streaming completions take minutes. */
  headersTimeoutMs?: number;
  /** Longest silence between two body chunks, ms. */
  bodyTimeoutMs?: number;
}

/** Answers with a `StagedBodyResponse` (or, for statuses without a body, a web Response); fakes may use either. */
export type UpstreamFetch = (request: UpstreamRequest) => Promise<ProxyResponse>;

/** Hop-by-hop and per-connection headers, never forwarded in either direction (RFC 9110 7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

/**
 * Client headers that mean something to Azure OpenAI. An allow-list, so that browser cookies, origins and the
 * client's credential never leave for Azure by accident.
 */
const AZURE_REQUEST_HEADERS = new Set([
  'content-type',
  'accept',
  'user-agent',
  'openai-beta',
  'traceparent',
  'tracestate',
  'x-ms-client-request-id',
]);

/** Azure response headers that clients use: retry hints, rate-limit budgets and request ids for support. */
const AZURE_RESPONSE_HEADERS = new Set([
  'content-type',
  'content-disposition',
  'retry-after',
  'retry-after-ms',
  'x-should-retry',
  'apim-request-id',
  'x-request-id',
  'x-ms-request-id',
  'x-ms-client-request-id',
  'x-ms-region',
  'openai-processing-ms',
]);

export function azureRequestHeaders(incoming: Headers, auth: Readonly<Record<string, string>>): Record<string, string> {
  const headers: Record<string, string> = {};
  // A few lookups cost less than iterating a Headers, which sorts every name first.
  for (const name of AZURE_REQUEST_HEADERS) {
    const value = incoming.get(name);
    if (value !== null) headers[name] = value;
  }
  Object.assign(headers, auth);
  // Bodies are passed through as bytes; a compressed answer would need decoding to stay truthful.
  headers['accept-encoding'] = 'identity';
  return headers;
}

export function isAzureResponseHeader(name: string): boolean {
  return AZURE_RESPONSE_HEADERS.has(name) || name.startsWith('x-ratelimit-');
}

/**
 * The headers of an upstream answer whose body is relayed as it is: Azure's, and its length. A body sent with its
 * length goes out in one write, and the client knows when it has all of it; one that a stage rewrites (an event
 * stream's) loses it, in `relayAzureResponse`.
 */
export function isRelayedResponseHeader(name: string): boolean {
  // content-encoding: only kept to be seen, for a body encoded although the proxy asked for none (azureResponse.ts).
  return name === 'content-length' || name === 'content-encoding' || isAzureResponseHeader(name);
}

export function azureResponseHeaders(upstream: Headers): Headers {
  const headers = new Headers();
  for (const [name, value] of upstream) {
    if (isAzureResponseHeader(name)) headers.set(name, value);
  }
  return headers;
}

/** Removes every header that is not for the client (see isRelayedResponseHeader), in place; false if any could not be removed. */
export function keepRelayedResponseHeaders(headers: Headers): boolean {
  // The upstream client's answers keep only these already (UpstreamRequest.keepResponseHeader): none to look at.
  if (headers instanceof HeaderMap && headers.keptBy(isRelayedResponseHeader)) return true;
  const unwanted: string[] = [];
  for (const name of headers.keys()) if (!isRelayedResponseHeader(name)) unwanted.push(name);
  for (const name of unwanted) headers.delete(name);
  return unwanted.every((name) => !headers.has(name));
}

/** For the plain forward proxy (`AZURE_OPENAI_PROXY_MODE=openai`): everything but hop-by-hop headers. */
export function forwardedHeaders(incoming: Headers, drop: ReadonlySet<string> = new Set()): Headers {
  const headers = new Headers();
  for (const [name, value] of incoming) {
    if (!HOP_BY_HOP.has(name) && !drop.has(name)) headers.set(name, value);
  }
  return headers;
}

interface NetworkErrorCause {
  code?: string;
  name?: string;
}

function causeOf(error: unknown): NetworkErrorCause {
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  return typeof cause === 'object' && cause !== null ? cause : {};
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'ETIMEDOUT']);

/** A network failure as the OpenAI-shaped error the client sees. */
export function upstreamFailure(error: unknown, target: string): ProxyError {
  const cause = causeOf(error);
  const code = cause.code ?? (error as NetworkErrorCause | undefined)?.code;
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return proxyError('upstream_timeout', `The upstream (${target}) did not answer in time (${code}).`);
  }
  return proxyError('upstream_unreachable', `The proxy could not reach the upstream (${target})${code === undefined ? '' : `: ${code}`}.`);
}

export function isAbortError(error: unknown): boolean {
  return (error as { name?: string } | undefined)?.name === 'AbortError';
}

/** The origin and the path of an absolute URL the proxy made (`https://host:port` and `/path?query`), without parsing it. */
function originAndPath(url: string): { origin: string; path: string } {
  const scheme = url.indexOf('://');
  const slash = scheme === -1 ? -1 : url.indexOf('/', scheme + 3);
  if (slash !== -1) return { origin: url.slice(0, slash), path: url.slice(slash) };
  const parsed = new URL(url);
  return { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
}

/** The error a call ends with when its client went away: an abort, which the proxy logs as 499. */
function clientWentAway(): Error {
  return new errors.RequestAbortedError('The client went away.');
}

/**
 * One upstream call, as undici's dispatcher drives it: its answer's head settles the call, and its body feeds a
 * `StagedBody`, paused and resumed as its reader asks. What undici's `request` did, without its Node Readable,
 * its async resource and its own handler (about a quarter of a bare pass-through's work: README, "Benchmark").
 *
 * A handler in the form undici 7's core calls (`onConnect`, `onHeaders`, `onData`...), which its own `request`
 * uses: its newer form (`onResponseStart`...) is wrapped into this one for every call, with every header decoded
 * first, which cost about a tenth of a bare pass-through's work more. undici 8 has only the newer form; moving to
 * it means rewriting these five methods, and this file's tests say at once if an upgrade breaks them.
 */
class UpstreamCall implements BodyFeed {
  readonly #request: UpstreamRequest;
  /** A streamed request body, as the call reads it. */
  readonly #upload: Readable | undefined;
  readonly #answer: (response: ProxyResponse) => void;
  readonly #failure: (error: unknown) => void;
  #abort: ((reason: Error) => void) | undefined;
  #resume: (() => void) | undefined;
  #paused = false;
  #body: StagedBody | undefined;
  #answered = false;
  /** Why the call was stopped before undici gave it the means to stop it. */
  #stopped: Error | undefined;
  readonly #onClientAbort = (): void => this.#stop(clientWentAway());

  constructor(request: UpstreamRequest, upload: Readable | undefined, answer: (response: ProxyResponse) => void, failure: (error: unknown) => void) {
    this.#request = request;
    this.#upload = upload;
    this.#answer = answer;
    this.#failure = failure;
    request.signal?.addEventListener('abort', this.#onClientAbort);
  }

  onConnect(abort: (reason: Error) => void): void {
    if (this.#stopped !== undefined) abort(this.#stopped);
    else this.#abort = abort;
  }

  /** The answer's status and headers (names and values, one after the other, as bytes); false pauses the body. */
  onHeaders(statusCode: number, rawHeaders: readonly Buffer[], resume: () => void): boolean {
    // An informational answer (100 Continue) comes before the real one.
    if (statusCode < 200 || this.#answered) return true;
    this.#answered = true;
    this.#resume = resume;
    const headers = HeaderMap.fromRaw(rawHeaders, this.#request.keepResponseHeader);
    if (NULL_BODY_STATUSES.has(statusCode)) {
      this.#answer(new Response(null, { status: statusCode, headers }));
      return true;
    }
    this.#body = new StagedBody(this);
    this.#answer(new StagedBodyResponse(statusCode, headers, this.#body));
    return !this.#paused;
  }

  /** A chunk of the body; false pauses the call until `resume`. */
  onData(chunk: Buffer): boolean {
    this.#body?.push(chunk);
    return !this.#paused;
  }

  onComplete(): void {
    this.#request.signal?.removeEventListener('abort', this.#onClientAbort);
    this.#body?.end();
  }

  onError(error: Error): void {
    this.fail(error);
  }

  /** The call failed: before its answer came, it fails; after, its body does. */
  fail(error: unknown): void {
    this.#request.signal?.removeEventListener('abort', this.#onClientAbort);
    // An upload the call did not finish reading is stopped with it (undici's `request` did the same).
    if (this.#upload !== undefined && !this.#upload.destroyed) this.#upload.on('error', () => undefined).destroy();
    if (this.#body !== undefined) this.#body.fail(error);
    else if (!this.#answered) {
      this.#answered = true;
      this.#failure(error);
    }
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#resume?.();
  }

  /** The body's reader went away: the call is stopped, closing its connection. */
  abort(): void {
    this.#stop(new errors.RequestAbortedError('The body was not read to its end.'));
  }

  #stop(reason: Error): void {
    if (this.#abort === undefined) this.#stopped ??= reason;
    else this.#abort(reason);
  }
}

export function createUpstreamFetch(options: UpstreamClientOptions = {}): UpstreamFetch {
  const dispatcher = new Agent({
    keepAliveTimeout: 30_000,
    headersTimeout: options.headersTimeoutMs ?? 10 * 60_000,
    bodyTimeout: options.bodyTimeoutMs ?? 5 * 60_000,
  });
  return (request) =>
    new Promise<ProxyResponse>((resolve, reject) => {
      if (request.signal?.aborted === true) {
        reject(clientWentAway());
        return;
      }
      const upload = request.body instanceof ReadableStream ? Readable.fromWeb(request.body) : undefined;
      const call = new UpstreamCall(request, upload, resolve, (error) =>
        reject(isAbortError(error) && error instanceof Error ? error : upstreamFailure(error, new URL(request.url).host)),
      );
      try {
        const { origin, path } = originAndPath(request.url);
        dispatcher.dispatch(
          {
            origin,
            path,
            method: request.method,
            headers: request.headers,
            body: request.body instanceof ReadableStream ? upload : (request.body ?? null),
            // undefined: the dispatcher's own (undici reads it with `!= null`); not a spread of a maybe, on every call.
            headersTimeout: request.headersTimeoutMs === undefined ? undefined : Math.max(1, Math.round(request.headersTimeoutMs)),
          },
          call,
        );
      } catch (error) {
        // undici tells a call it refuses through its handler; this is for anything it might throw instead.
        call.fail(error);
      }
    });
}
