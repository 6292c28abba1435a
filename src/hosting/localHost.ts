/**
 * A small HTTP host for the core, so the proxy runs where Azure Functions Core Tools cannot be installed.
 * It converts Node's request to a web Request and streams the web Response back with backpressure; when the
 * client disconnects, the request's signal aborts and the response stream is cancelled, which closes the
 * upstream call.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openAIError } from '../core/errors';
import { readableToWeb } from '../core/nodeStreams';
import type { OpenAIProxy } from '../core/proxy';

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

function toWebRequest(req: IncomingMessage, signal: AbortSignal, origin: string): Request {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  return new Request(new URL(req.url ?? '/', origin), {
    method,
    headers,
    signal,
    ...(hasBody && { body: readableToWeb(req, { onCancel: 'stop-reading' }), duplex: 'half' as const }),
  });
}

function writeHead(res: ServerResponse, response: Response): void {
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
      if (done || res.destroyed) break;
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
    res.end();
  }
}

async function serve(proxy: OpenAIProxy, req: IncomingMessage, res: ServerResponse, origin: string): Promise<void> {
  const disconnect = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) disconnect.abort();
  });
  let request: Request;
  try {
    request = toWebRequest(req, disconnect.signal, origin);
  } catch {
    const response = openAIError(400, { message: 'The request line or headers are malformed.', code: 'bad_request' });
    writeHead(res, response);
    res.end(await response.text());
    return;
  }
  const response = await proxy.handle(request);
  if (res.destroyed) {
    await response.body?.cancel().catch(() => undefined);
    return;
  }
  writeHead(res, response);
  if (response.body === null || req.method === 'HEAD') {
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
