/**
 * What `@azure/functions` 4.x does not give an HTTP handler under the Functions host, taken from the worker's
 * public module (`@azure/functions-core`) and Node's own diagnostics channel, never from the library's internals:
 *
 *  - The forwarded request and response of the invocation. With HTTP streams on, the host forwards each client
 *    request to an HTTP server the library runs in the worker, and the library keeps that exchange to itself: a
 *    handler is not told when its client leaves (azure-functions-nodejs-library#294), and the library writes the
 *    body without waiting for `drain` and never ends a response whose body fails. With the exchange in hand the
 *    adapter hears the client leave and writes the body itself, as the local host does.
 *    The exchange is found through Node's `http.server.request.start` diagnostics channel (published for every
 *    request a Node HTTP server receives, before its 'request' event), on the server at the library's `HttpUri`,
 *    by the `x-ms-invocation-id` header the host adds.
 *  - A log that stays valid until the invocation ends. A streamed body's request line is written when the body
 *    ends, after the handler has returned; `context.log` then still reaches the host but the library adds a
 *    warning ("Unexpected call to 'log' on the context object after function execution has completed") to each
 *    call. The invocation's own `CoreInvocationContext.log`, which `context.log` calls, has no such check: the
 *    line is the same RpcLog, with the invocation id and the function's category.
 *
 * Both come from wrapping the programming model the library registers with the worker (`getProgrammingModel`,
 * `setProgrammingModel`: the worker's documented way to change it), delegating everything to it.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CoreApi, ProgrammingModel, RpcLogLevel } from './functionsCore';

export type WorkerLogLevel = Extract<RpcLogLevel, 'information' | 'warning' | 'error'>;

/** The request the host forwarded for one invocation, and the response the library sends it back on. */
export interface ForwardedExchange {
  request: IncomingMessage;
  response: ServerResponse;
}

/** What the adapter knows of an invocation beyond its HttpRequest and InvocationContext. */
export interface InvocationBridge {
  /** Absent when the host forwarded nothing (HTTP streams off). */
  exchange?: ForwardedExchange;
  /** Logs as the invocation, until it ends. */
  log: (level: WorkerLogLevel, message: string) => void;
}

const INVOCATION_ID_HEADER = 'x-ms-invocation-id';

/** Keyed by the library's InvocationContext, the object the handler is given, so nothing outlives it. */
const bridges = new WeakMap<object, InvocationBridge>();
/** Forwarded exchanges by invocation id, from their arrival until the invocation claims them or they close. */
const arrived = new Map<string, ForwardedExchange>();
/** null: looked for, and this process is not in a Functions worker. */
let core: CoreApi | null | undefined;
let proxyPort: number | undefined;
let proxyServer: Server | undefined;

/** The worker's built-in module, when this process runs in the Functions worker. */
export function workerCoreApi(): CoreApi | undefined {
  if (core === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      core = require('@azure/functions-core') as CoreApi;
    } catch {
      core = null;
    }
  }
  return core ?? undefined;
}

function onRequestStart(message: unknown): void {
  if (proxyPort === undefined) return;
  const { request, response, server } = message as { request: IncomingMessage; response: ServerResponse; server: Server };
  if (proxyServer === undefined) {
    if ((server.address() as AddressInfo | null)?.port !== proxyPort) return;
    proxyServer = server;
  } else if (server !== proxyServer) {
    return;
  }
  const invocationId = request.headers[INVOCATION_ID_HEADER];
  if (typeof invocationId !== 'string') return;
  arrived.set(invocationId, { request, response });
  response.once('close', () => arrived.delete(invocationId));
}

function bridged(inner: ProgrammingModel): ProgrammingModel {
  return {
    name: inner.name,
    version: inner.version,
    async getCapabilities(capabilities) {
      const result = inner.getCapabilities === undefined ? capabilities : await inner.getCapabilities(capabilities);
      // The library starts its HTTP server here, when HTTP streams are on, and says where it listens.
      if (result.HttpUri !== undefined) proxyPort = Number(new URL(result.HttpUri).port);
      return result;
    },
    async getInvocationModel(coreContext) {
      const model = await inner.getInvocationModel(coreContext);
      return {
        async getArguments() {
          const args = await model.getArguments();
          // The library has waited for the forwarded request before it returns, so it has arrived.
          const exchange = arrived.get(coreContext.invocationId);
          arrived.delete(coreContext.invocationId);
          if (typeof args.context === 'object' && args.context !== null) {
            bridges.set(args.context, {
              ...(exchange !== undefined && { exchange }),
              log: (level, text) => coreContext.log(level, 'user', text),
            });
          }
          return args;
        },
        invokeFunction: (context, inputs, callback) => model.invokeFunction(context, inputs, callback),
        getResponse: (context, result) => model.getResponse(context, result),
      };
    },
  };
}

let installed = false;

/**
 * Wraps the programming model `@azure/functions` registered (it does so at its first `app.http`), once. False
 * outside the Functions worker, or before the library has registered its model.
 */
export function installInvocationBridge(): boolean {
  if (installed) return true;
  const api = workerCoreApi();
  const inner = api?.getProgrammingModel();
  if (api === undefined || inner === undefined) return false;
  subscribe('http.server.request.start', onRequestStart);
  api.setProgrammingModel(bridged(inner));
  installed = true;
  return true;
}

/** What the bridge knows of the invocation whose context this is; undefined outside the Functions worker. */
export function invocationBridge(context: object): InvocationBridge | undefined {
  return bridges.get(context);
}
