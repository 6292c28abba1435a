/**
 * Reading and checking a JSON request body at the edge: size limit, content type, well-formed JSON, a string
 * `model`. The bytes are kept as sent, so the upstream gets exactly what the client wrote (no re-serialising).
 */
// Node's own binding, not the global: from Node 22 the global `Buffer` is a getter, called on each use.
import { Buffer } from 'node:buffer';
import { proxyError, ProxyError } from '../errors/catalogue';
import { topLevelFieldCount } from './jsonModel';
import { isMediaType } from './mediaType';
import { BodyLimitExceeded, type ProxyRequest } from './proxyRequest';

export interface JsonRequestBody {
  /** The body exactly as the client sent it. */
  bytes: Uint8Array;
  /** The parsed body, for the few fields the proxy reads. */
  json: Record<string, unknown>;
}

export function bodyTooLarge(limit: number): ProxyError {
  return proxyError('request_too_large', `The request body is larger than this proxy's limit of ${limit} bytes (PROXY_MAX_BODY_BYTES).`);
}

/**
 * Reads a body up to `limit` bytes; a larger one is refused without reading the rest (by its Content-Length
 * when given, else as soon as the count passes the limit).
 */
export function readBodyWithLimit(request: ProxyRequest, limit: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) {
    // A host with its own body reader discards an unread body itself; no stream need be made to cancel it.
    const discarded = request.readBody === undefined ? request.body?.cancel().catch(() => undefined) : undefined;
    return Promise.resolve(discarded).then(() => Promise.reject(bodyTooLarge(limit)));
  }
  // Not an async function: on every JSON request's path, where each await costs a turn of its own.
  if (request.readBody !== undefined) {
    return request.readBody(limit).catch((error: unknown) => {
      throw error instanceof BodyLimitExceeded ? bodyTooLarge(limit) : error;
    });
  }
  return readStreamWithLimit(request.body, limit, () => bodyTooLarge(limit));
}

/** A web body read whole, up to `limit` bytes; past that it is cancelled and `tooLarge()` is thrown. */
export async function readStreamWithLimit(body: ReadableStream<Uint8Array> | null, limit: number, tooLarge: () => Error): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, total);
}

/**
 * Passes a body through while counting it, for bodies that are streamed on rather than read: the stream fails
 * with bodyTooLarge once it passes `limit` bytes, and `onExceeded` is told so the caller can answer 400.
 */
export function limitBodyStream(
  body: ReadableStream<Uint8Array>,
  limit: number,
  onExceeded: () => void,
): ReadableStream<Uint8Array> {
  let total = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        total += chunk.byteLength;
        if (total > limit) {
          onExceeded();
          controller.error(bodyTooLarge(limit));
          return;
        }
        controller.enqueue(chunk);
      },
    }),
  );
}

/** A missing content type is taken as JSON (curl users forget it); any other non-JSON type is refused. */
export function assertJsonContentType(headers: Headers): void {
  const refused = refusedContentType(headers);
  if (refused !== undefined) throw refused;
}

function refusedContentType(headers: Headers): ProxyError | undefined {
  const contentType = headers.get('content-type');
  // The usual one first, compared in place.
  if (contentType === null || isMediaType(contentType, 'application/json')) return undefined;
  const mediaType = contentType.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) return undefined;
  return proxyError('unsupported_content_type', `Unsupported content type "${mediaType}": send the request body as JSON with Content-Type: application/json.`);
}

export function readJsonBody(request: ProxyRequest, limit: number): Promise<JsonRequestBody> {
  const refused = refusedContentType(request.headers);
  if (refused !== undefined) return Promise.reject(refused);
  return readBodyWithLimit(request, limit).then(parseJsonBody);
}

/** A JSON object from the bytes a client sent, or a 400 in OpenAI's shape. */
export function parseJsonBody(bytes: Uint8Array): JsonRequestBody {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw proxyError(
      'invalid_json',
      'We could not parse the JSON body of your request. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.',
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw proxyError('invalid_json', 'The request body must be a JSON object.');
  }
  assertOneModel(text, bytes);
  return { bytes, json: json as Record<string, unknown> };
}

/**
 * Refuses a body that names `model` more than once: JSON.parse keeps the last, another parser may keep the first,
 * so the model checked would not be the model used.
 */
function assertOneModel(text: string, bytes: Uint8Array): void {
  // Cheap first: most bodies hold the word once.
  const first = text.indexOf('"model"');
  if (first === -1 || text.indexOf('"model"', first + 1) === -1) return;
  if (topLevelFieldCount(bytes, 'model') > 1) throw proxyError('duplicate_parameter', 'The request body names "model" more than once.', { param: 'model' });
}

/** The body's `model`, which must be a non-empty string. */
export function requireModel(json: Record<string, unknown>): string {
  const model = json.model;
  if (model === undefined || model === null) {
    throw proxyError('missing_required_parameter', 'You must provide a model parameter.', { param: 'model' });
  }
  if (typeof model !== 'string' || model.trim() === '') {
    throw proxyError('invalid_type', `Invalid type for 'model': expected a non-empty string, but got ${JSON.stringify(model)}.`, { param: 'model' });
  }
  return model;
}
