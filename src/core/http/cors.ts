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
].join(', ');

export function addCorsHeaders(headers: Headers, allowOrigin: string): void {
  headers.set('access-control-allow-origin', allowOrigin);
  headers.set('access-control-expose-headers', EXPOSED_HEADERS);
  if (allowOrigin !== '*') headers.append('vary', 'Origin');
}

export function preflightResponse(request: ProxyRequest, allowOrigin: string): Response {
  const headers = new Headers({
    'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
    'access-control-allow-headers':
      request.headers.get('access-control-request-headers') ?? 'authorization, api-key, content-type',
    'access-control-max-age': '86400',
  });
  addCorsHeaders(headers, allowOrigin);
  return new Response(null, { status: 204, headers });
}
