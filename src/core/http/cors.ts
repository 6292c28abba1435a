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
].join(', ');

/**
 * With `*`, any origin; with a list, the request's own origin when it is in the list (and `Vary: Origin`, since the
 * answer then depends on it), and no allow header otherwise, so the browser refuses the page.
 */
export function addCorsHeaders(headers: Headers, allowOrigin: '*' | readonly string[], requestOrigin: string | null): void {
  if (allowOrigin === '*') headers.set('access-control-allow-origin', '*');
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
  addCorsHeaders(headers, allowOrigin, request.headers.get('origin'));
  return new Response(null, { status: 204, headers });
}
