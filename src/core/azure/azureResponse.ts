/**
 * Relaying an Azure OpenAI response to an OpenAI client: status and useful headers kept, errors converted to
 * OpenAI's shape, bodies streamed through without buffering.
 */
import { convertAzureError, jsonResponse, proxyError } from '../errors/catalogue';
import { isEventStream, toWebResponse, withBodyStage, type ProxyResponse } from '../http/proxyResponse';
import { isMediaType } from '../http/mediaType';
import { readStreamWithLimit } from '../http/requestBody';
import { createSseErrorEventStage } from '../streams/sseErrorEvent';
import { createSseEventFilterStage, isFilterOnlyChunk, isUsageOnlyChunk } from './streamCompat';
import { createUsageStage, type TokenUsage } from '../usage/usage';
import { azureResponseHeaders, keepRelayedResponseHeaders } from '../upstream/upstream';

/** Error bodies are small; a larger one is cut rather than held whole. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

export interface RelayOptions {
  /** Drop Azure's prompt-filter-only chunks from event streams (AZURE_OPENAI_STREAM_COMPAT). */
  streamCompat: boolean;
  /** The proxy asked for the stream's usage chunk itself, for its log; the caller did not, so it is dropped. */
  dropUsageChunk?: boolean;
  /** Told the token usage when a JSON or event-stream body ends. */
  onUsage?: (usage: TokenUsage | undefined) => void;
}

async function readCapped(body: ReadableStream<Uint8Array> | null, limit: number): Promise<string> {
  if (body === null) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.byteLength;
    if (total >= limit) {
      await reader.cancel().catch(() => undefined);
      break;
    }
  }
  return Buffer.concat(chunks, total).subarray(0, limit).toString('utf8');
}

function isJson(headers: Headers): boolean {
  const contentType = headers.get('content-type');
  // Azure's usual answer first, compared in place; then any `+json` type.
  return isMediaType(contentType, 'application/json') || /^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType ?? '');
}

/**
 * An answer of Azure's the proxy must read whole (a model list, a created object, a list to filter), at most
 * `limit` bytes: `what` names it in the 502 `upstream_response_invalid` when it is larger, or not JSON.
 */
export async function readAzureJson(response: ProxyResponse, limit: number, what: string): Promise<unknown> {
  const bytes = await readStreamWithLimit(toWebResponse(response).body as ReadableStream<Uint8Array> | null, limit, () =>
    proxyError('upstream_response_invalid', `${what} is larger than ${limit} bytes; the proxy does not hold it.`),
  );
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch {
    throw proxyError('upstream_response_invalid', `${what} is not JSON.`);
  }
}

/** Azure's error answer, read (up to MAX_ERROR_BODY_BYTES) and put in OpenAI's shape. */
async function relayAzureError(upstream: ProxyResponse): Promise<ProxyResponse> {
  const text = await readCapped(upstream.body, MAX_ERROR_BODY_BYTES);
  return jsonResponse(upstream.status, convertAzureError(upstream.status, text), azureResponseHeaders(upstream.headers));
}

/**
 * Azure's answer as the client gets it. An error is read first (a promise); any other answer is relayed at once,
 * its body untouched but for its stages, so a request's path waits on nothing here.
 */
export function relayAzureResponse(upstream: ProxyResponse, options: RelayOptions): ProxyResponse | Promise<ProxyResponse> {
  if (upstream.status >= 400) return relayAzureError(upstream);
  // The proxy asks for no encoding (accept-encoding: identity); a body encoded anyway is passed on as it is, with
  // its encoding said, never as binary labelled JSON. Its stages cannot read it: no usage, no filtering.
  const encoding = upstream.headers.get('content-encoding')?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
    const headers = azureResponseHeaders(upstream.headers);
    headers.set('content-encoding', encoding);
    const length = upstream.headers.get('content-length');
    if (length !== null) headers.set('content-length', length);
    return { status: upstream.status, headers, body: upstream.body };
  }
  const eventStream = isEventStream(upstream);
  const json = isJson(upstream.headers);
  let staged = upstream;
  if (options.onUsage !== undefined && (eventStream || json)) staged = withBodyStage(staged, createUsageStage(options.onUsage));
  const { streamCompat, dropUsageChunk = false } = options;
  if (eventStream && (streamCompat || dropUsageChunk)) {
    staged = withBodyStage(staged, createSseEventFilterStage((data) => (streamCompat && isFilterOnlyChunk(data)) || (dropUsageChunk && isUsageOnlyChunk(data))));
  }
  // Last, so that it sees the bytes the client gets: a stream that breaks off ends with an error event.
  if (eventStream) staged = withBodyStage(staged, createSseErrorEventStage());
  // The upstream response is the proxy's own (made by the upstream client): when its body took the stages in
  // place, it is relayed itself, its headers cut down to the client's, rather than copied into a new one.
  const inPlace = staged === upstream && keepRelayedResponseHeaders(upstream.headers);
  const response: ProxyResponse = inPlace ? upstream : { status: upstream.status, headers: azureResponseHeaders(upstream.headers), body: staged.body };
  if (eventStream) {
    // Its stages may drop events or add one: no length is true of what the client gets.
    response.headers.delete('content-length');
    // Intermediaries (and the Functions front end) must not hold events back.
    response.headers.set('cache-control', 'no-cache, no-transform');
    response.headers.set('x-accel-buffering', 'no');
  }
  return response;
}
