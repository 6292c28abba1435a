/** Where the SDKs may be let send over plain http: this machine only (the tests' stand-ins and Azurite). */
const LOOPBACK = /^https?:\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?(\/|$)/i;

/** An http (not https) endpoint on loopback: the SDKs' `allowInsecureConnection`, which they refuse tokens over anyway. */
export function isPlainHttpOnLoopback(endpoint: string): boolean {
  return LOOPBACK.test(endpoint) && endpoint.startsWith('http:');
}
