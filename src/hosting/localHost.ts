/**
 * A small HTTP host for the core, so the proxy runs where Azure Functions Core Tools cannot be installed.
 * It serves Node's request as a light ProxyRequest and writes the answer back with backpressure (the proxy's own
 * upstream answers straight into the socket); when the client disconnects, the request's signal aborts and the
 * response body is cancelled, which closes the upstream call.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openAIError } from '../core/errors';
import { BodyLimitExceeded, ClientAbort, clientClosedBody, type ProxyRequest } from '../core/proxyRequest';
import { readableToWeb } from '../core/nodeStreams';
import type { OpenAIProxy } from '../core/proxy';
import { discardBody, type ProxyResponse } from '../core/proxyResponse';

export interface LocalHostOptions {
  proxy: OpenAIProxy;
  host?: string;
  port?: number;
}

export interface LocalHost {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * A request as the core reads it, made straight from Node's IncomingMessage. Not a web Request: constructing one
 * (and its body stream) costs more than the rest of a small call. The body becomes a web stream only if a handler
 * asks for the stream; bodies read whole are collected from Node's stream directly.
 */
class NodeRequest implements ProxyRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly signal: ClientAbort;
  readonly #req: IncomingMessage;
  #body: ReadableStream<Uint8Array> | null | undefined;

  constructor(req: IncomingMessage, signal: ClientAbort, origin: string) {
    this.#req = req;
    this.method = req.method ?? 'GET';
    this.url = `${origin}${req.url ?? '/'}`;
    this.signal = signal;
    this.headers = new Headers();
    const raw = req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) this.headers.append(raw[i] as string, raw[i + 1] as string);
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#body === undefined) {
      this.#body = this.method === 'GET' || this.method === 'HEAD' ? null : readableToWeb(this.#req, { onCancel: 'stop-reading' });
    }
    return this.#body;
  }

  readBody(limit: number): Promise<Uint8Array> {
    const req = this.#req;
    if (this.method === 'GET' || this.method === 'HEAD') return Promise.resolve(new Uint8Array(0));
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let total = 0;
      const done = (): void => {
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', onError);
        req.off('close', onClose);
      };
      const onData = (chunk: Buffer): void => {
        total += chunk.length;
        if (total > limit) {
          // Stop reading; Node discards the rest once the (400) response is sent.
          done();
          req.pause();
          reject(new BodyLimitExceeded());
          return;
        }
        chunks.push(chunk);
      };
      const onEnd = (): void => {
        done();
        resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total));
      };
      const onError = (error: Error): void => {
        done();
        reject(clientClosedBody(error));
      };
      const onClose = (): void => {
        done();
        reject(clientClosedBody());
      };
      req.on('data', onData);
      req.once('end', onEnd);
      req.once('error', onError);
      req.once('close', onClose);
    });
  }
}

function writeHead(res: ServerResponse, response: ProxyResponse): void {
  const headers: string[] = [];
  for (const [name, value] of response.headers) headers.push(name, value);
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
      // Corked until the next tick: a small body and its end go out in one write (one syscall, one packet),
      // while a stream's chunks still leave as they come.
      res.cork();
      process.nextTick(() => res.uncork());
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
  const disconnect = new ClientAbort();
  res.once('close', () => {
    if (!res.writableFinished) disconnect.abort();
  });
  let request: ProxyRequest;
  try {
    request = new NodeRequest(req, disconnect, origin);
  } catch {
    const response = openAIError(400, { message: 'The request line or headers are malformed.', code: 'bad_request' });
    writeHead(res, response);
    res.end(await response.text());
    return;
  }
  const response = await proxy.serve(request);
  if (res.destroyed) {
    await discardBody(response);
    return;
  }
  writeHead(res, response);
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
  const server = createServer({ keepAliveTimeout: 65_000 });
  let origin = '';
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
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
