/**
 * `AZURE_OPENAI_PROXY_MODE=openai`: every path goes unchanged to OPENAI_BASE_URL with the caller's own key, for
 * teams that cannot reach OpenAI directly (the "forward proxy" use of the old images). Bodies stream both ways.
 * An HTTP-triggered function cannot be a CONNECT tunnel, so clients set this URL as their base URL instead.
 */
import type { RouteHandler } from '../context';
import { ProxyError } from '../errors';
import { forwardedHeaders } from '../upstream';

/** Request headers not sent on: cookies and origin belong to the proxy's site, not to OpenAI's. */
const DROP_REQUEST = new Set(['cookie', 'origin', 'referer', 'accept-encoding']);
/** undici decodes compressed bodies, so their encoding headers no longer describe what is relayed. */
const DROP_RESPONSE = new Set(['content-encoding', 'content-length', 'set-cookie']);

function tooLarge(limit: number): ProxyError {
  return new ProxyError(400, {
    message: `The request body is larger than this proxy's limit of ${limit} bytes (PROXY_MAX_BODY_BYTES).`,
    code: 'request_too_large',
  });
}

/** Passes a body through while counting it, failing the stream once it passes `limit` bytes. */
function limitBody(body: ReadableStream<Uint8Array>, limit: number, onExceeded: () => void): ReadableStream<Uint8Array> {
  let total = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        total += chunk.byteLength;
        if (total > limit) {
          onExceeded();
          controller.error(tooLarge(limit));
          return;
        }
        controller.enqueue(chunk);
      },
    }),
  );
}

export const openaiForward: RouteHandler = async ({ request, url, services }) => {
  const { config, upstream } = services;
  const limit = config.maxBodyBytes;
  if (Number(request.headers.get('content-length') ?? 0) > limit) throw tooLarge(limit);
  let exceeded = false;
  const body =
    request.body === null || request.method === 'GET' || request.method === 'HEAD'
      ? null
      : limitBody(request.body, limit, () => {
          exceeded = true;
        });
  try {
    const response = await upstream({
      url: `${config.openai.baseUrl}${url.pathname}${url.search}`,
      method: request.method,
      headers: forwardedHeaders(request.headers, DROP_REQUEST),
      body,
      signal: request.signal,
    });
    return new Response(response.body, {
      status: response.status,
      headers: forwardedHeaders(response.headers, DROP_RESPONSE),
    });
  } catch (error) {
    if (exceeded) throw tooLarge(limit);
    throw error;
  }
};
