/**
 * A small HTTP host for the core, so the proxy runs where Azure Functions Core Tools cannot be installed.
 * It serves Node's request as a light ProxyRequest and writes the answer back with backpressure (the proxy's own
 * upstream answers straight into the socket); when the client disconnects, the request's signal aborts and the
 * response body is cancelled, which closes the upstream call.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { clientAbortOf, NodeRequest } from './nodeRequest';
import { discardBody, errorResponse, HeaderMap, isEventStream, type OpenAIProxy, type ProxyRequest, type ProxyResponse } from '../../core';

/**
 * What a client may hold of the local host. Node's own defaults (60 s for headers, 300 s for a request, no cap on
 * connections, checked every 30 s) let a client trickle headers for 83 s and a body for 329 s, and hold a descriptor
 * each for thousands of half-sent requests. (Under Functions, Azure's front end and host set these.)
 */
export interface LocalHostLimits {
  /** The request line and headers must arrive within this (PROXY_HEADERS_TIMEOUT_SECONDS, 20). */
  headersTimeoutMs: number;
  /** The whole request, body included, within this (PROXY_REQUEST_TIMEOUT_SECONDS, 300: a 25 MB upload on a slow line). */
  requestTimeoutMs: number;
  /** A body that sends nothing for this long is cut (PROXY_BODY_IDLE_TIMEOUT_SECONDS, 30). */
  bodyIdleTimeoutMs: number;
  /** Connections open at once; more are refused (PROXY_MAX_CONNECTIONS, 10,000). */
  maxConnections: number;
}

export const DEFAULT_LOCAL_HOST_LIMITS: LocalHostLimits = { headersTimeoutMs: 20_000, requestTimeoutMs: 300_000, bodyIdleTimeoutMs: 30_000, maxConnections: 10_000 };

export interface LocalHostOptions {
  proxy: OpenAIProxy;
  host?: string;
  port?: number;
  limits?: Partial<LocalHostLimits>;
}

/** What the body-idle watch knows of one connection: its request now, and when its body last moved. */
interface ConnectionWatch {
  request: IncomingMessage | undefined;
  lastBytes: number;
  idleSince: number;
}

/**
 * Cuts a request whose body stalls: one timer for the server looks, a few times per idle period, at each
 * connection's current request, and cuts the connection of one whose body is still incomplete and read no bytes in
 * a whole period (which aborts its upstream call). Per connection, not per request, so that a request costs a
 * property write, not a timer and a listener of its own: on a small call those cost as much as several steps of
 * the proxy's own work.
 */
class BodyIdleWatch {
  readonly #connections = new Map<Socket, ConnectionWatch>();
  readonly #idleMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(idleMs: number) {
    this.#idleMs = idleMs;
  }

  /** Watches a connection until it closes. */
  connect(socket: Socket): void {
    this.#connections.set(socket, { request: undefined, lastBytes: socket.bytesRead, idleSince: Date.now() });
    socket.once('close', () => this.#connections.delete(socket));
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#sweep(), Math.max(50, Math.min(1000, this.#idleMs / 4)));
      this.#timer.unref();
    }
  }

  /** The connection's request now; its body's idle time counts from here. */
  request(req: IncomingMessage): void {
    const watch = this.#connections.get(req.socket);
    if (watch === undefined) return;
    watch.request = req;
    watch.lastBytes = req.socket.bytesRead;
    watch.idleSince = Date.now();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [socket, watch] of this.#connections) {
      const { request } = watch;
      if (request === undefined) continue;
      if (request.complete || request.destroyed) {
        // Done with (or between requests): let it go, so that a kept-alive connection does not hold it.
        watch.request = undefined;
      } else if (socket.bytesRead !== watch.lastBytes) {
        watch.lastBytes = socket.bytesRead;
        watch.idleSince = now;
      } else if (now - watch.idleSince >= this.#idleMs) {
        watch.request = undefined;
        socket.destroy();
      }
    }
  }
}

export interface LocalHost {
  url: string;
  server: Server;
  close(): Promise<void>;
}

function writeHead(res: ServerResponse, response: ProxyResponse, req?: IncomingMessage): void {
  let headers: string[];
  if (response.headers instanceof HeaderMap) headers = response.headers.pairs();
  else {
    headers = [];
    // forEach, not iteration: no [name, value] array per header.
    response.headers.forEach((value, name) => headers.push(name, value));
  }
  // Answered before the client finished sending its body (refused for its model, its size…): the rest would be
  // left unread in the connection, and the next request on it would wait behind it. Close it after this answer.
  if (req !== undefined && !req.complete) {
    headers.push('connection', 'close');
    res.shouldKeepAlive = false;
  }
  res.writeHead(response.status, headers);
}

async function writeBody(res: ServerResponse, body: ReadableStream<Uint8Array>): Promise<void> {
  const reader = body.getReader();
  const cancel = (): void => void reader.cancel().catch(() => undefined);
  res.once('close', cancel);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) return;
      // Not corked, as in StagedBody.writeTo: a corked response stops reporting a full socket from Node 22.
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          const settle = (): void => {
            res.off('drain', settle);
            res.off('close', settle);
            resolve();
          };
          res.on('drain', settle);
          res.on('close', settle);
        });
      }
    }
  } finally {
    res.off('close', cancel);
  }
  // Not on failure: the caller destroys the connection, so a broken body does not look complete.
  res.end();
}

async function serve(proxy: OpenAIProxy, req: IncomingMessage, res: ServerResponse, origin: string): Promise<void> {
  let request: ProxyRequest;
  try {
    request = new NodeRequest(req, clientAbortOf(res), `${origin}${req.url ?? '/'}`);
  } catch {
    const response = errorResponse('bad_request', 'The request line or headers are malformed.');
    writeHead(res, response);
    res.end(await response.text());
    return;
  }
  const response = await proxy.serve(request);
  if (res.destroyed) {
    await discardBody(response);
    return;
  }
  try {
    writeHead(res, response, req);
  } catch {
    // A header Node refuses (it should never come to this: the core bounds and checks what goes into headers):
    // answer, rather than destroy the socket with no answer.
    await discardBody(response);
    const failure = errorResponse('proxy_error', 'The proxy failed to handle this request.');
    writeHead(res, failure);
    res.end(await failure.text());
    return;
  }
  // An event stream's headers go at once, as Azure's came: its first event may be one the proxy drops (Azure's
  // prompt-filter chunk), and Node sends headers only with the first body bytes.
  if (isEventStream(response)) res.flushHeaders();
  // The proxy's own responses are written straight into the socket; others are read as web streams.
  if (response.writeBodyTo !== undefined) {
    await response.writeBodyTo(res);
    return;
  }
  if (response.body === null) {
    res.end();
    return;
  }
  await writeBody(res, response.body);
}

export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const host = options.host ?? '127.0.0.1';
  const limits = { ...DEFAULT_LOCAL_HOST_LIMITS, ...options.limits };
  const server = createServer({
    keepAliveTimeout: 65_000,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // How often Node checks the two above: its default, 30 s, would let each run that much over.
    connectionsCheckingInterval: Math.max(100, Math.min(1000, limits.headersTimeoutMs / 4)),
  });
  server.maxConnections = limits.maxConnections;
  const bodyIdle = new BodyIdleWatch(limits.bodyIdleTimeoutMs);
  server.on('connection', (socket: Socket) => bodyIdle.connect(socket));
  server.on('close', () => bodyIdle.stop());
  let origin = '';
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // A body still to come is watched (one whose bytes all came with the headers is complete already).
    if (!req.complete) bodyIdle.request(req);
    serve(options.proxy, req, res, origin).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  origin = `http://${urlHost}:${address.port}`;
  return {
    url: origin,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
