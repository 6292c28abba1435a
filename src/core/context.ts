/** What a route handler is given: the request, its route parameters, and the proxy's services. */
import type { Balancer } from './pool/balancer';
import type { ProxyConfig } from './config/config';
import type { Logger } from './logger';
import type { ProxyRequest } from './http/proxyRequest';
import type { ProxyResponse } from './http/proxyResponse';
import type { UpstreamFetch } from './upstream/upstream';
import type { UpstreamCredentials } from './upstream/credential';
import type { Limiter, QuotaAccount } from './limits/limiter';
import type { Ownership } from './ownership/ownership';
import type { EntraIdentity } from './auth/entraTokens';
import type { RefusedParameters } from './azure/reasoningParameters';

/** What serves a request; shared by the requests of one configuration snapshot, so never changed by one. */
export interface ProxyServices {
  /** The configuration snapshot this request is served with (one per request, even across a refresh). */
  readonly config: ProxyConfig;
  readonly upstream: UpstreamFetch;
  readonly credentials: UpstreamCredentials;
  /** How this instance's backends fared; shared by every request. */
  readonly balancer: Balancer;
  /** Client keys' limits, on counts shared across instances; shared by every request. */
  readonly limiter: Limiter;
  /** The parameters each deployment refused (reasoning models), learned from Azure's answers; shared by every request. */
  readonly refusedParameters: RefusedParameters;
  /** Who created each object, where objects are kept per key (a usage store is set); else keys share them. */
  readonly ownership?: Ownership;
  readonly logger: Logger;
}

/** A limited key's request: whose spending it counts against (its figures are answered with once, at the end). */
export interface QuotaState {
  account?: QuotaAccount;
}

export interface RequestContext {
  request: ProxyRequest;
  url: URL;
  params: Readonly<Record<string, string>>;
  services: ProxyServices;
  /** Fields a handler adds to the request's log line (client key name, model, deployment); never credentials. */
  logFields: Record<string, string | number | undefined>;
  quota: QuotaState;
  /** The caller's verified Microsoft Entra token, when it sent one instead of a client key. */
  entra?: EntraIdentity;
}

export type RouteHandler = (context: RequestContext) => Promise<ProxyResponse>;
