/**
 * The response the core produces: the parts of a web `Response` a host writes out. A web `Response` is one
 * (errors and JSON answers are); the upstream client returns a lighter `StagedBodyResponse` of its own, since
 * making a web Response and its body stream costs more than the rest of a small call. Its body becomes a web
 * stream only when read as one, and a host with a Node writable can have it written there directly.
 */
import type { Writable } from 'node:stream';
import type { BodyStage } from '../streams/bodyStage';
import { applyStage } from '../streams/webBody';
import type { StagedBody } from '../streams/stagedBody';
import { isMediaType } from './mediaType';

export interface ProxyResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: ReadableStream<Uint8Array> | null;
  /**
   * A host's faster way to send the body: written straight into a Node writable, which it ends. Optional:
   * without it the host reads `body`. Rejects if the body fails midway; the host then cuts the connection.
   */
  writeBodyTo?(destination: Writable): Promise<void>;
}

/** A response whose body is a `StagedBody` (an upstream answer), with stages added in place. */
export class StagedBodyResponse implements ProxyResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly #body: StagedBody;

  constructor(status: number, headers: Headers, body: StagedBody) {
    this.status = status;
    this.headers = headers;
    this.#body = body;
  }

  get body(): ReadableStream<Uint8Array> {
    return this.#body.toWeb();
  }

  writeBodyTo(destination: Writable): Promise<void> {
    return this.#body.writeTo(destination);
  }

  /** Adds a stage to the body before it is read; false once it has been. */
  addBodyStage(stage: BodyStage): boolean {
    return this.#body.addStage(stage);
  }

  discardBody(): Promise<void> {
    return this.#body.discard();
  }
}

/** Statuses whose responses have no body (a web Response refuses one; the Functions library drops it). */
export const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 204, 205, 304]);

/** Whether the response has a body, without making a web stream to find out. */
export function hasBody(response: ProxyResponse): boolean {
  return response instanceof StagedBodyResponse || response.body !== null;
}

/**
 * The response with a stage on its body: added in place to a `StagedBodyResponse`, else by `applyStage` in a
 * response of the same status and headers. A response without a body is returned as is.
 */
export function withBodyStage(response: ProxyResponse, stage: BodyStage): ProxyResponse {
  if (response instanceof StagedBodyResponse && response.addBodyStage(stage)) return response;
  const body = response.body;
  if (body === null) return response;
  return { status: response.status, headers: response.headers, body: applyStage(body, stage) };
}

/** Drops a response's body unread (an attempt that failed over, a HEAD answer), releasing its connection. */
export async function discardBody(response: ProxyResponse): Promise<void> {
  if (response instanceof StagedBodyResponse) return response.discardBody();
  await response.body?.cancel().catch(() => undefined);
}

/**
 * Whether a response (the proxy's, or Azure's it relays) is an event stream: its stages then work event by event,
 * and hosts send its headers at once, before any event.
 */
export function isEventStream(response: { headers: Headers }): boolean {
  return isMediaType(response.headers.get('content-type'), 'text/event-stream');
}

/** The response as a web Response, for callers that want one (web-standard hosts, tests). */
export function toWebResponse(response: ProxyResponse): Response {
  if (response instanceof Response) return response;
  return new Response(response.body, { status: response.status, headers: response.headers });
}
