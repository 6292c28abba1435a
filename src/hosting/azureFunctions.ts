/**
 * The thin layer between Azure Functions and the core: converting the Functions HttpRequest to a web Request
 * and a web Response back, and registering functions from the route table. Nothing here decides anything
 * about proxying; that is the core's job.
 */
import { app, type HttpHandler, type HttpMethod, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { openAIError } from '../core/errors';
import type { Logger } from '../core/logger';
import type { OpenAIProxy } from '../core/proxy';
import type { ProxyResponse } from '../core/proxyResponse';
import { CATCH_ALL_FUNCTION, functionRoute } from '../core/routes';

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
 * The body stays a ReadableStream, so with `enableHttpStream` each chunk reaches the client as it arrives.
 * (The Functions library does not tell a handler when its client disconnects, azure-functions-nodejs-library
 * issue 294, so under that host an abandoned stream is read to its end; the local host aborts it.)
 */
export function toHttpResponseInit(response: ProxyResponse): HttpResponseInit {
  const body = response.body;
  return {
    status: response.status,
    headers: response.headers,
    ...(body !== null && { body }),
  };
}

export function invocationLogger(context: InvocationContext): Logger {
  const line = (message: string, fields?: Readonly<Record<string, unknown>>): string =>
    fields === undefined ? message : `${message} ${JSON.stringify(fields)}`;
  return {
    info: (message, fields) => context.log(line(message, fields)),
    warn: (message, fields) => context.warn(line(message, fields)),
    error: (message, fields) => context.error(line(message, fields)),
  };
}

export type ProxyProvider = () => Promise<OpenAIProxy>;

/** The Functions handler for any route: every function calls the same core dispatcher. */
export function createHttpHandler(getProxy: ProxyProvider): HttpHandler {
  return async (request, context) => {
    let proxy: OpenAIProxy;
    try {
      proxy = await getProxy();
    } catch (error) {
      // Not started (App Configuration unreadable): say why, in OpenAI's shape; the load is retried.
      const message = error instanceof Error ? error.message : 'The proxy could not start.';
      return toHttpResponseInit(openAIError(503, { message, type: 'server_error', code: 'proxy_not_ready' }, { 'retry-after': '10' }));
    }
    const response = await proxy.serve(toWebRequest(request), { logger: invocationLogger(context) });
    return toHttpResponseInit(response);
  };
}

export interface FunctionRegistration {
  name: string;
  route: string;
  methods: readonly HttpMethod[];
  handler: HttpHandler;
}

/** What this process registered with `app.http`, for the local host and the tests to check against the table. */
export const registeredFunctions = new Map<string, FunctionRegistration>();

let outsideFunctionsHost = false;

/**
 * For the local host: record registrations without handing them to `app.http`, which outside the Functions
 * host only prints a "test mode" warning per function.
 */
export function recordRegistrationsOnly(): void {
  outsideFunctionsHost = true;
}

/** Whether this process serves through the local host rather than the Functions host. */
export function isOutsideFunctionsHost(): boolean {
  return outsideFunctionsHost;
}

/** Streams bodies both ways (request bodies and SSE responses) instead of buffering them in the host. */
export function setupFunctionsApp(): void {
  if (!outsideFunctionsHost) app.setup({ enableHttpStream: true });
}

function register(registration: FunctionRegistration): void {
  registeredFunctions.set(registration.name, registration);
  if (outsideFunctionsHost) return;
  app.http(registration.name, {
    route: registration.route,
    methods: [...registration.methods],
    // The proxy checks OpenAI-style keys itself; OpenAI clients cannot send Functions keys.
    authLevel: 'anonymous',
    handler: registration.handler,
  });
}

/** Registers a function of the route table; OPTIONS is added so browser preflights reach the proxy. */
export function registerRouteFunction(name: string, getProxy: ProxyProvider): void {
  const { route, methods } = functionRoute(name);
  register({ name, route, methods: [...methods, 'OPTIONS'], handler: createHttpHandler(getProxy) });
}

const ALL_METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

/**
 * The catch-all: everything no other function took. It dispatches through the same route table, so a request
 * the host hands it by mistake is still served; it answers preflights, the billing mocks, and 404 otherwise.
 */
export function registerCatchAllFunction(getProxy: ProxyProvider): void {
  register({ name: CATCH_ALL_FUNCTION, route: '{*path}', methods: ALL_METHODS, handler: createHttpHandler(getProxy) });
}
