/** What a route handler is given: the request, its route parameters, and the proxy's shared services. */
import type { Authorizer } from './auth';
import type { ProxyConfig } from './config';
import type { Logger } from './logger';
import type { UpstreamFetch } from './upstream';

export interface ProxyServices {
  config: ProxyConfig;
  authorizer: Authorizer;
  upstream: UpstreamFetch;
  logger: Logger;
}

export interface RequestContext {
  request: Request;
  url: URL;
  params: Readonly<Record<string, string>>;
  services: ProxyServices;
  /** Fields a handler adds to the request's log line (model, deployment); never credentials. */
  logFields: Record<string, string | number | undefined>;
}

export type RouteHandler = (context: RequestContext) => Promise<Response>;
