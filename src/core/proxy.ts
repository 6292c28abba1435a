/**
 * The proxy: one `handle(Request) => Response` over the route table, independent of any host. Every failure a
 * client can see leaves here as an OpenAI-shaped error with the right status; nothing else escapes.
 */
import { Authorizer } from './auth';
import type { ProxyConfig } from './config';
import type { ProxyServices, RequestContext } from './context';
import { addCorsHeaders, preflightResponse } from './cors';
import { openAIError, ProxyError } from './errors';
import { openaiForward } from './handlers/openaiForward';
import { observeBody, type BodyOutcome } from './observeBody';
import { consoleLogger, type Logger } from './logger';
import { ROUTE_TABLE, type RouteDefinition } from './routes';
import { Router } from './router';
import { createUpstreamFetch, isAbortError, type UpstreamFetch } from './upstream';

export interface ProxyOptions {
  logger?: Logger;
  /** The upstream HTTP client; tests and benchmarks may pass their own. */
  upstream?: UpstreamFetch;
}

export interface HandleOptions {
  logger?: Logger;
}

/** Status logged when the client went away before an answer (nginx's convention; never sent). */
const CLIENT_CLOSED = 499;

export class OpenAIProxy {
  readonly config: ProxyConfig;
  readonly #services: ProxyServices;
  readonly #router = new Router<RouteDefinition>(ROUTE_TABLE);

  constructor(config: ProxyConfig, options: ProxyOptions = {}) {
    this.config = config;
    this.#services = {
      config,
      authorizer: new Authorizer(config),
      upstream: options.upstream ?? createUpstreamFetch(),
      logger: options.logger ?? consoleLogger,
    };
  }

  /**
   * Serves one request. Never throws: failures become OpenAI-shaped error responses. A host may pass the
   * logger of the invocation, so lines are correlated with it.
   */
  async handle(request: Request, options: HandleOptions = {}): Promise<Response> {
    const started = performance.now();
    const services = options.logger === undefined ? this.#services : { ...this.#services, logger: options.logger };
    const url = new URL(request.url);
    const logFields: RequestContext['logFields'] = {};
    let response: Response;
    try {
      response = await this.#dispatch(request, url, services, logFields);
    } catch (error) {
      response = errorResponse(error, request, services.logger);
    }
    addCorsHeaders(response.headers, this.config.corsAllowOrigin);
    const headersMs = elapsedMs(started);
    const log = (outcome: BodyOutcome | 'no-body'): void => {
      const closedByClient = outcome === 'cancelled' || request.signal.aborted;
      services.logger.info('request', {
        method: request.method,
        path: url.pathname,
        status: closedByClient ? CLIENT_CLOSED : response.status,
        ms: elapsedMs(started),
        ttfb_ms: headersMs,
        ...(outcome === 'error' && !closedByClient && { body: 'failed' }),
        ...logFields,
      });
    };
    if (response.body === null) {
      log('no-body');
      return response;
    }
    // The line is written when the body ends, so a stream's time and outcome are its own, not its headers'.
    return new Response(observeBody(response.body, log), { status: response.status, headers: response.headers });
  }

  async #dispatch(
    request: Request,
    url: URL,
    services: ProxyServices,
    logFields: RequestContext['logFields'],
  ): Promise<Response> {
    if (request.method === 'OPTIONS') return preflightResponse(request, this.config.corsAllowOrigin);
    const context = (params: Record<string, string>): RequestContext => ({
      request,
      url,
      params,
      services,
      logFields,
    });
    if (this.config.mode === 'openai') return openaiForward(context({}));

    const result = this.#router.match(request.method, url.pathname);
    switch (result.kind) {
      case 'match':
        logFields.route = result.match.route.functionName;
        return result.match.route.handle(context(result.match.params));
      case 'method-not-allowed':
        throw new ProxyError(
          405,
          { message: `Method ${request.method} is not allowed on ${url.pathname}; use ${result.allowed.join(' or ')}.`, code: 'method_not_allowed' },
          { allow: [...result.allowed, 'OPTIONS'].join(', ') },
        );
      case 'no-route':
        throw new ProxyError(404, {
          message:
            `Invalid URL (${request.method} ${url.pathname}): Azure OpenAI has no such API, so this proxy cannot ` +
            'serve it. See the README for the routes it supports.',
          code: 'unknown_url',
        });
    }
  }
}

function elapsedMs(since: number): number {
  return Math.round((performance.now() - since) * 10) / 10;
}

function errorResponse(error: unknown, request: Request, logger: Logger): Response {
  if (error instanceof ProxyError) return error.toResponse();
  if (isAbortError(error) && request.signal.aborted) {
    return openAIError(CLIENT_CLOSED, { message: 'The client closed the request.', code: 'client_closed_request' });
  }
  // Unexpected: log the kind only, since a message may quote request data, and answer without internals.
  logger.error('unhandled error', { error: error instanceof Error ? error.name : typeof error });
  return openAIError(500, { message: 'The proxy failed to handle this request.', type: 'server_error', code: 'proxy_error' });
}

export function createProxy(config: ProxyConfig, options?: ProxyOptions): OpenAIProxy {
  return new OpenAIProxy(config, options);
}
