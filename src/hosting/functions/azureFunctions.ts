/**
 * The thin layer between Azure Functions and the core: registering functions from the route table, and serving
 * each invocation through the core's `serve`. Nothing here decides anything about proxying; that is the core's job.
 *
 * Under the Functions host (HTTP streams on) the invocation's forwarded request and response are at hand (see
 * functionsInvocation.ts), and the adapter serves them as the local host serves its own: the request is read
 * straight from Node's stream, a client that leaves aborts the upstream call, and the body is written into the
 * library's response with backpressure, ended when it ends and cut when it breaks. Elsewhere (handlers called
 * directly with an HttpRequest, as tests do) it converts to and from web Request and Response.
 */
import type { ServerResponse } from 'node:http';
import { app, type HttpHandler, type HttpMethod, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { installInvocationBridge, invocationBridge, type WorkerLogLevel } from './functionsInvocation';
import { clientAbortOf, NodeRequest } from '../node/nodeRequest';
import { boundedFields, CATCH_ALL_FUNCTION, discardBody, errorResponse, functionRoute, isEventStream, NULL_BODY_STATUSES, type LogFields, type Logger, type OpenAIProxy, type ProxyResponse } from '../../core';

export function toWebRequest(request: HttpRequest): Request {
  const method = request.method.toUpperCase();
  const hasBody = method !== 'GET' && method !== 'HEAD';
  return new Request(request.url, {
    method,
    headers: request.headers,
    body: hasBody ? request.body : null,
    ...(hasBody && { duplex: 'half' as const }),
  });
}

/**
 * A body for the library to read as a web stream, which, when first read, writes the proxy's body straight into
 * the library's own response instead, and ends it. The library has set the status and headers on that response
 * before it reads the body (`sendProxyResponse` in @azure/functions, src/http/httpProxy.ts), so the answer is the
 * same; what changes is what the library cannot do: wait for `drain` (a slow client no longer makes the worker
 * hold the upstream body), stop when the client is gone, and cut a body that breaks instead of leaving it open
 * until the host's forward times out (240 s). Its `end()` afterwards does nothing. The tests through the stand-in
 * host fail if a version of the library stops setting the headers first.
 */
function writtenBody(response: ProxyResponse, writeBodyTo: (destination: ServerResponse) => Promise<void>, destination: ServerResponse): ReadableStream<Uint8Array> {
  let started = false;
  // Never read (the library failed before the body): release the upstream connection when the exchange closes.
  destination.once('close', () => {
    if (!started) void discardBody(response);
  });
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        started = true;
        // An event stream's headers go at once (see the local host): its first event may be dropped.
        if (isEventStream(response)) destination.flushHeaders();
        try {
          await writeBodyTo(destination);
        } catch (error) {
          // The upstream broke off: cut the response, so the client sees a broken body at once (the host cuts its
          // connection), and fail the invocation, which it did.
          destination.destroy();
          controller.error(error);
          return;
        }
        controller.close();
      },
      cancel() {
        started = true;
        return discardBody(response);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * The response as the library takes it. With the forwarded response (`destination`), the proxy's own upstream
 * bodies are written straight into it (see writtenBody); other bodies (the proxy's JSON answers) are small and
 * go through the library as web streams.
 */
export function toHttpResponseInit(response: ProxyResponse, destination?: ServerResponse): HttpResponseInit {
  const init: HttpResponseInit = { status: response.status, headers: response.headers };
  if (NULL_BODY_STATUSES.has(response.status)) {
    void discardBody(response);
    return init;
  }
  const writeBodyTo = response.writeBodyTo?.bind(response);
  if (destination !== undefined && writeBodyTo !== undefined) return { ...init, body: writtenBody(response, writeBodyTo, destination) };
  const body = response.body;
  return body === null ? init : { ...init, body };
}

function line(message: string, fields?: LogFields): string {
  return fields === undefined ? message : `${message} ${JSON.stringify(boundedFields(fields))}`;
}

function levelLogger(log: (level: WorkerLogLevel, text: string) => void): Logger {
  return {
    info: (message, fields) => log('information', line(message, fields)),
    warn: (message, fields) => log('warning', line(message, fields)),
    error: (message, fields) => log('error', line(message, fields)),
  };
}

/** Logs through the invocation's context (valid while the handler runs; the fallback outside the worker). */
export function invocationLogger(context: InvocationContext): Logger {
  return levelLogger((level, text) => {
    if (level === 'information') context.log(text);
    else if (level === 'warning') context.warn(text);
    else context.error(text);
  });
}

export type ProxyProvider = () => Promise<OpenAIProxy>;

/** The answer while the proxy cannot start: a 503 that says why, in OpenAI's shape. */
function notReady(error: unknown): ProxyResponse {
  const message = error instanceof Error ? error.message : 'The proxy could not start.';
  return errorResponse('proxy_not_ready', message, { headers: { 'retry-after': '10' } });
}

/** The Functions handler for any route: every function calls the same core dispatcher. */
export function createHttpHandler(getProxy: ProxyProvider): HttpHandler {
  return async (request, context) => {
    const bridge = invocationBridge(context);
    const exchange = bridge?.exchange;
    let proxy: OpenAIProxy;
    try {
      proxy = await getProxy();
    } catch (error) {
      return toHttpResponseInit(notReady(error));
    }
    // The request's line is written when its body ends, after this handler has returned: through the bridge,
    // it is the invocation's log until the invocation ends, without the library's warning.
    const logger = bridge === undefined ? invocationLogger(context) : levelLogger(bridge.log);
    const proxyRequest = exchange === undefined ? toWebRequest(request) : new NodeRequest(exchange.request, clientAbortOf(exchange.response), request.url);
    const response = await proxy.serve(proxyRequest, { logger });
    return toHttpResponseInit(response, exchange?.response);
  };
}

export interface FunctionRegistration {
  name: string;
  route: string;
  methods: readonly HttpMethod[];
  handler: HttpHandler;
}

/** Streams bodies both ways (request bodies and SSE responses) instead of buffering them in the host. */
export function setupFunctionsApp(): void {
  app.setup({ enableHttpStream: true });
}

function register(registration: FunctionRegistration): void {
  app.http(registration.name, {
    route: registration.route,
    methods: [...registration.methods],
    // The proxy checks OpenAI-style keys itself; OpenAI clients cannot send Functions keys.
    authLevel: 'anonymous',
    handler: registration.handler,
  });
  // The library registers its programming model with the worker at its first app.http.
  installInvocationBridge();
}

/** Registers a function of the route table; OPTIONS is added so browser preflights reach the proxy. */
export function registerRouteFunction(name: string, getProxy: ProxyProvider): void {
  const { route, methods } = functionRoute(name);
  register({ name, route, methods: [...methods, 'OPTIONS'], handler: createHttpHandler(getProxy) });
}

const ALL_METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

/**
 * The catch-all: everything no other function took. It dispatches through the same route table, so a request
 * the host hands it is still served (`/chat/completions` without `/v1` comes here); it answers preflights, the
 * billing mocks, and 404 otherwise.
 */
export function registerCatchAllFunction(getProxy: ProxyProvider): void {
  register({ name: CATCH_ALL_FUNCTION, route: '{*path}', methods: ALL_METHODS, handler: createHttpHandler(getProxy) });
}
