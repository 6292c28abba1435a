import type { ProxyRequest } from './proxyRequest';

/**
 * CORS, so browser-based chat UIs can call the proxy directly. Preflights are answered here, before any auth,
 * as browsers send them without credentials.
 */
const EXPOSED_HEADERS = [
  'retry-after',
  'retry-after-ms',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-limit-requests',
  'x-ratelimit-limit-tokens',
  'apim-request-id',
  'x-request-id',
  'x-mock',
  // The proxy's own, which the README offers for support requests: a page must be able to read them.
  'x-proxy-request-id',
  'x-proxy-backend',
  'x-proxy-attempts',
  // Where a browser sends its WebRTC offer after POST /v1/realtime/client_secrets.
  'x-proxy-realtime-calls-url',
].join(', ');

/**
 * With `*`, any origin; with a list, the request's own origin when it is in the list (and `Vary: Origin`, since the
 * answer then depends on it), and no allow header otherwise, so the browser refuses the page.
 * With `*`, an answer to a request without an Origin that no cache reuses (anything but a GET or HEAD) has none:
 * browsers send an Origin with every cross-origin request, and the SDKs and servers that make most calls never
 * read these headers, whose checks and bytes cost each such answer for nothing. A GET's answer keeps them, since a
 * browser's cache may hand it to a page's cross-origin request later.
 */
export function addCorsHeaders(headers: Headers, allowOrigin: '*' | readonly string[], requestOrigin: string | null, method: string): void {
  if (allowOrigin === '*') {
    if (requestOrigin === null && method !== 'GET' && method !== 'HEAD') return;
    headers.set('access-control-allow-origin', '*');
  }
  else {
    if (requestOrigin !== null && allowOrigin.includes(requestOrigin)) headers.set('access-control-allow-origin', requestOrigin);
    headers.append('vary', 'Origin');
  }
  headers.set('access-control-expose-headers', EXPOSED_HEADERS);
}

export function preflightResponse(request: ProxyRequest, allowOrigin: '*' | readonly string[]): Response {
  const headers = new Headers({
    'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
    'access-control-allow-headers':
      request.headers.get('access-control-request-headers') ?? 'authorization, api-key, content-type',
    'access-control-max-age': '86400',
  });
  addCorsHeaders(headers, allowOrigin, request.headers.get('origin'), 'GET');
  return new Response(null, { status: 204, headers });
}
