/** What a route handler is given: the request, its route parameters, and the proxy's services. */
import type { Balancer } from './pool/balancer';
import type { ProxyConfig } from './config/config';
import type { Logger } from './logger';
import type { ProxyRequest } from './http/proxyRequest';
import type { ProxyResponse } from './http/proxyResponse';
import type { UpstreamFetch } from './upstream/upstream';
import type { UpstreamCredentials } from './upstream/credential';

export interface ProxyServices {
  /** The configuration snapshot this request is served with (one per request, even across a refresh). */
  config: ProxyConfig;
  upstream: UpstreamFetch;
  credentials: UpstreamCredentials;
  /** How this instance's backends fared; shared by every request. */
  balancer: Balancer;
  logger: Logger;
}

export interface RequestContext {
  request: ProxyRequest;
  url: URL;
  params: Readonly<Record<string, string>>;
  services: ProxyServices;
  /** Fields a handler adds to the request's log line (client key name, model, deployment); never credentials. */
  logFields: Record<string, string | number | undefined>;
}

export type RouteHandler = (context: RequestContext) => Promise<ProxyResponse>;
