/**
 * `AZURE_OPENAI_PROXY_MODE=openai`: every path goes unchanged to OPENAI_BASE_URL with the caller's own key, for
 * teams that cannot reach OpenAI directly (the "forward proxy" use of the old images). Bodies stream both ways.
 * An HTTP-triggered function cannot be a CONNECT tunnel, so clients set this URL as their base URL instead.
 */
import type { RouteHandler } from '../context';
import { bodyTooLarge, limitBodyStream } from '../http/requestBody';
import { forwardedHeaders } from '../upstream/upstream';

/** Request headers not sent on: cookies and origin belong to the proxy's site, not to OpenAI's. */
const DROP_REQUEST = new Set(['cookie', 'origin', 'referer', 'accept-encoding']);
/** undici decodes compressed bodies, so their encoding headers no longer describe what is relayed. */
const DROP_RESPONSE = new Set(['content-encoding', 'content-length', 'set-cookie']);

export const openaiForward: RouteHandler = async ({ request, url, services }) => {
  const { config, upstream } = services;
  const limit = config.maxBodyBytes;
  if (Number(request.headers.get('content-length') ?? 0) > limit) throw bodyTooLarge(limit);
  let exceeded = false;
  const body =
    request.body === null || request.method === 'GET' || request.method === 'HEAD'
      ? null
      : limitBodyStream(request.body, limit, () => {
          exceeded = true;
        });
  try {
    const response = await upstream({
      url: `${config.openai.baseUrl}${url.pathname}${url.search}`,
      method: request.method,
      headers: Object.fromEntries(forwardedHeaders(request.headers, DROP_REQUEST)),
      body,
      signal: request.signal,
    });
    return { status: response.status, headers: forwardedHeaders(response.headers, DROP_RESPONSE), body: response.body };
  } catch (error) {
    if (exceeded) throw bodyTooLarge(limit);
    throw error;
  }
};
