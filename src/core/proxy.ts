/**
 * The proxy: one `handle(Request) => Response` over the route table, independent of any host. Every failure a
 * client can see leaves here as an OpenAI-shaped error with the right status; nothing else escapes.
 */
// Node's own binding, not the global: from Node 22 the global `performance` is a getter, called on each use.
import { performance } from 'node:perf_hooks';
import { Balancer } from './pool/balancer';
import type { ProxyConfig } from './config/config';
import { staticConfigSource, type ConfigSource } from './config/configSource';
import type { ProxyServices, QuotaState, RequestContext } from './context';
import { MemoryCounterStore, SharedCounters, type CounterStore } from './limits/counters';
import { Limiter } from './limits/limiter';
import { costOf } from './limits/keyLimits';
import { MemoryLedgerStore, UsageLedger, type LedgerStore } from './usage/ledger';
import { Ownership } from './ownership/ownership';
import { RefusedParameters } from './azure/reasoningParameters';
import { EntraTokens, looksLikeJwt, type EntraIdentity } from './auth/entraTokens';
import { presentedKey } from './auth/clientKeys';
import type { EntraSettings } from './config/config';
import type { OwnerStore } from './ownership/owners';
import { addCorsHeaders, preflightResponse } from './http/cors';
import { ERROR_CATALOGUE, errorResponse, proxyError, ProxyError } from './errors/catalogue';
import { openaiForward } from './handlers/openaiForward';
import type { BodyOutcome } from './streams/bodyStage';
import { consoleLogger, type Logger } from './logger';
import { newRequestId } from './requestId';
import type { ProxyRequest } from './http/proxyRequest';
import { discardBody, hasBody, toWebResponse, withBodyStage, type ProxyResponse } from './http/proxyResponse';
import type { RequestMetrics, RequestRecord } from './usage/metrics';
import { ROUTE_TABLE, type RouteDefinition } from './routes/routes';
import { Router } from './routes/router';
import { createUpstreamFetch, isAbortError, type UpstreamFetch } from './upstream/upstream';
import { createUpstreamCredentials, type UpstreamCredentials } from './upstream/credential';

export interface ProxyOptions {
  logger?: Logger;
  /** The upstream HTTP client; tests and benchmarks may pass their own. */
  upstream?: UpstreamFetch;
  /** How upstream calls are authenticated; by default the caller's or the held key, and no managed identity. */
  credentials?: UpstreamCredentials;
  /** Where each request's record goes besides the log (metrics for Application Insights). */
  metrics?: RequestMetrics;
  /** Where limits' counts are shared across instances (Table Storage); this process's memory by default. */
  counters?: CounterStore;
  /** Where the usage ledger is kept (Table Storage); this process's memory by default. */
  ledger?: LedgerStore;
  /** Where objects' creators are kept: set, a key sees only its own objects; unset, keys share them. */
  owners?: OwnerStore;
  /** The length of a rate-limit window: a minute, which tests shorten so that a wait for one takes a second. */
  rateWindowMs?: number;
  /** The least time between two fetches of an Entra tenant's signing keys (30 s), which tests shorten. */
  entraKeysCooldownMs?: number;
}

export interface HandleOptions {
  logger?: Logger;
}

/** Status logged when the client went away before an answer (nginx's convention; never sent). */
const CLIENT_CLOSED = ERROR_CATALOGUE.client_closed_request.status;

export class OpenAIProxy {
  readonly #source: ConfigSource;
  readonly #services: Omit<ProxyServices, 'config'>;
  readonly #router = new Router<RouteDefinition>(ROUTE_TABLE);
  readonly #metrics: RequestMetrics | undefined;
  readonly #counters: SharedCounters;
  readonly #ledger: UsageLedger;
  readonly #entraTokens: EntraTokens;
  #shared: ProxyServices | undefined;

  constructor(source: ConfigSource | ProxyConfig, options: ProxyOptions = {}) {
    this.#source = 'current' in source ? source : staticConfigSource(source);
    const logger = options.logger ?? consoleLogger;
    // Exchanged on a timer only once a limited key is used (SharedCounters.use).
    this.#counters = new SharedCounters(options.counters ?? new MemoryCounterStore(), {
      logger,
      syncMs: this.#source.current().usage.syncMs,
      ...(options.rateWindowMs !== undefined && { minuteMs: options.rateWindowMs }),
    });
    this.#ledger = new UsageLedger(options.ledger ?? new MemoryLedgerStore(), { logger });
    this.#services = {
      upstream: options.upstream ?? createUpstreamFetch(),
      credentials: options.credentials ?? createUpstreamCredentials(),
      balancer: new Balancer(),
      limiter: new Limiter(this.#counters),
      refusedParameters: new RefusedParameters(),
      ...(options.owners !== undefined && { ownership: new Ownership(options.owners) }),
      logger,
    };
    this.#metrics = options.metrics;
    this.#entraTokens = new EntraTokens(options.entraKeysCooldownMs === undefined ? {} : { refreshCooldownMs: options.entraKeysCooldownMs });
  }

  /** The configuration the next request will be served with. */
  get config(): ProxyConfig {
    return this.#source.current();
  }

  /** Stops the configuration's background refresh, and sends the metrics, counts and usage still pending. */
  async close(): Promise<void> {
    await Promise.all([this.#source.close(), this.#metrics?.shutdown(), this.#counters.close(), this.#ledger.close()]);
  }

  /** `serve`, answering with a web Response, for web-standard callers. */
  async handle(request: ProxyRequest, options: HandleOptions = {}): Promise<Response> {
    return toWebResponse(await this.serve(request, options));
  }

  /**
   * Serves one request. Never throws: failures become OpenAI-shaped error responses. A host may pass the
   * logger of the invocation, so lines are correlated with it. The answer is a web Response or the proxy's
   * lighter `ProxyResponse`, whose body a Node host can have written straight into its socket.
   */
  async serve(request: ProxyRequest, options: HandleOptions = {}): Promise<ProxyResponse> {
    const started = performance.now();
    const config = this.#source.current();
    const services = this.#servicesFor(config, options.logger);
    // The line's own fields come first, in its order, set when the body ends; the handler's follow as it adds them.
    // One object for the request, written as it goes: not a second one with everything copied into it at the end.
    const logFields: RequestContext['logFields'] = { request_id: undefined, method: undefined, path: undefined, status: undefined, ms: undefined, ttfb_ms: undefined, body: undefined };
    const quota: QuotaState = {};
    let url: URL;
    let response: ProxyResponse | undefined;
    try {
      url = new URL(request.url);
    } catch {
      url = new URL('http://invalid/');
      response = errorResponse('bad_request', 'The request URL is malformed.');
    }
    try {
      // A Microsoft Entra token where a key would go is verified first (a key is checked where the handler asks).
      const entra = config.entra === undefined ? undefined : await this.#entraCaller(request, config.entra);
      response ??= await this.#dispatch(request, url, services, logFields, quota, entra);
    } catch (error) {
      response = responseForError(error, request, services.logger);
    }
    if (request.method === 'HEAD' && hasBody(response)) {
      // A HEAD answer has no body: dropped here, so the line logs the answer, not a body cut short.
      void discardBody(response);
      response = { status: response.status, headers: response.headers, body: null };
    }
    addCorsHeaders(response.headers, config.corsAllowOrigin, request.headers.get('origin'), request.method);
    // A limited key's figures (this request counted) replace Azure's, which are the whole resource's.
    if (quota.account !== undefined) services.limiter.setHeaders(response.headers, services.limiter.figures(quota.account));
    const requestId = newRequestId();
    response.headers.set('x-proxy-request-id', requestId);
    let ttfbMs: number | undefined;
    const log = (outcome: BodyOutcome | 'no-body'): void => {
      const closedByClient = outcome === 'cancelled' || request.signal.aborted;
      const ms = elapsedMs(started);
      const fields = logFields;
      fields.request_id = requestId;
      fields.method = request.method;
      fields.path = url.pathname;
      fields.status = closedByClient ? CLIENT_CLOSED : response.status;
      fields.ms = ms;
      fields.ttfb_ms = ttfbMs ?? ms;
      if (outcome === 'error' && !closedByClient) fields.body = 'failed';
      const upstreamRequestId = response.headers.get('apim-request-id');
      if (upstreamRequestId !== null) fields.upstream_request_id = upstreamRequestId;
      const record = fields as RequestRecord;
      const cost = costOfRecord(record, config.prices);
      if (cost !== undefined) fields.cost = cost;
      services.logger.info('request', record);
      this.#metrics?.record(record);
      this.#ledger.record(record);
      if (quota.account !== undefined && typeof record.total_tokens === 'number') services.limiter.record(quota.account, record.total_tokens, cost);
    };
    if (!hasBody(response)) {
      log('no-body');
      return response;
    }
    // The line is written when the body ends, so a stream's time, usage and outcome are its own, not its headers'.
    const onChunk = (): void => {
      ttfbMs ??= elapsedMs(started);
    };
    return withBodyStage(response, { onChunk, onEnd: log });
  }

  /**
   * The services a request is served with: made once per configuration snapshot and shared (nothing changes them),
   * rather than copied for every request; a host's own logger makes a copy of its own.
   */
  #servicesFor(config: ProxyConfig, logger: Logger | undefined): ProxyServices {
    if (logger !== undefined) return { ...this.#services, config, logger };
    if (this.#shared?.config !== config) this.#shared = { ...this.#services, config };
    return this.#shared;
  }

  /** The identity of a bearer token that has a token's shape, verified; none for a client key. */
  #entraCaller(request: ProxyRequest, settings: EntraSettings): Promise<EntraIdentity> | undefined {
    // Preflights carry no credential, and are answered before any check.
    if (request.method === 'OPTIONS') return undefined;
    const presented = presentedKey(request.headers);
    return presented !== undefined && looksLikeJwt(presented) ? this.#entraTokens.verify(presented, settings) : undefined;
  }

  /** The route's answer. Not async (serve awaits it, and catches what it throws at once as well): one turn fewer. */
  #dispatch(
    request: ProxyRequest,
    url: URL,
    services: ProxyServices,
    logFields: RequestContext['logFields'],
    quota: QuotaState,
    entra: EntraIdentity | undefined,
  ): ProxyResponse | Promise<ProxyResponse> {
    if (request.method === 'OPTIONS') return preflightResponse(request, services.config.corsAllowOrigin);
    const context = (params: Record<string, string>): RequestContext => ({
      request,
      url,
      params,
      services,
      logFields,
      quota,
      // Always present (undefined without a token): one shape for every request's context, no spread of a maybe.
      entra,
    });
    if (services.config.mode === 'openai') return openaiForward(context({}));

    const result = this.#router.match(request.method, url.pathname);
    switch (result.kind) {
      case 'match':
        logFields.route = result.match.route.functionName;
        return result.match.route.handle(context(result.match.params));
      case 'method-not-allowed':
        throw proxyError('method_not_allowed', `Method ${request.method} is not allowed on ${url.pathname}; use ${result.allowed.join(' or ')}.`, {
          headers: { allow: [...result.allowed, 'OPTIONS'].join(', ') },
        });
      case 'no-route':
        throw proxyError(
          'unknown_url',
          `Invalid URL (${request.method} ${url.pathname}): Azure OpenAI has no such API, so this proxy cannot ` +
            'serve it. See the README for the routes it supports.',
        );
    }
  }
}

/** What a request's tokens cost, when its model (or, failing that, its deployment) has a price. */
function costOfRecord(record: RequestRecord, prices: ProxyConfig['prices']): number | undefined {
  if (prices.size === 0 || typeof record.prompt_tokens !== 'number') return undefined;
  const price = (typeof record.model === 'string' ? prices.get(record.model) : undefined) ?? (typeof record.deployment === 'string' ? prices.get(record.deployment) : undefined);
  if (price === undefined) return undefined;
  // Rounded to a millionth of the currency unit, so a log line reads well and sums stay exact enough.
  return Math.round(costOf(price, record.prompt_tokens, typeof record.completion_tokens === 'number' ? record.completion_tokens : 0) * 1e6) / 1e6;
}

function elapsedMs(since: number): number {
  return Math.round((performance.now() - since) * 10) / 10;
}

function responseForError(error: unknown, request: ProxyRequest, logger: Logger): Response {
  if (error instanceof ProxyError) return error.toResponse();
  if (isAbortError(error) && request.signal.aborted) {
    return errorResponse('client_closed_request', 'The client closed the request.');
  }
  // Unexpected: log the kind only, since a message may quote request data, and answer without internals.
  logger.error('unhandled error', { error: error instanceof Error ? error.name : typeof error });
  return errorResponse('proxy_error', 'The proxy failed to handle this request.');
}

export function createProxy(source: ConfigSource | ProxyConfig, options?: ProxyOptions): OpenAIProxy {
  return new OpenAIProxy(source, options);
}
