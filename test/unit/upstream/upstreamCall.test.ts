/**
 * The upstream call (`createUpstreamFetch`) against a real HTTP server on loopback: undici's dispatcher driven by
 * the proxy's own handler, whose answer's body feeds a StagedBody.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { ClientAbort } from '../../../src/core/http/proxyRequest';
import { createUpstreamFetch, isRelayedResponseHeader } from '../../../src/core/upstream/upstream';
import { writeBigBody } from '../../support/bigBody';

let server: Server;
let base: string;
let route: (req: IncomingMessage, res: ServerResponse) => void;
/** Resolves when the server sees the connection of the latest request close. */
let connectionClosed: Promise<void>;

beforeAll(async () => {
  server = createServer((req, res) => {
    connectionClosed = new Promise((resolve) => req.socket.once('close', () => resolve()));
    route(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const upstream = createUpstreamFetch();

/** A writable that takes nothing until `open` is called, so that what it is given piles up in the proxy. */
function stalledSink(): Writable & { bytes: () => number; open: () => void } {
  let bytes = 0;
  let waiting: (() => void) | undefined;
  let open = false;
  const sink = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (open) callback();
      else waiting = callback;
    },
  });
  return Object.assign(sink, {
    bytes: () => bytes,
    open: () => {
      open = true;
      waiting?.();
    },
  });
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('the upstream call', () => {
  it("answers with the status, the headers its filter keeps, and the body, written into a writable", async () => {
    route = (_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-length': '11', 'x-request-id': 'r1', 'set-cookie': 'a=b' }).end('{"ok":true}');
    const response = (await upstream({ url: `${base}/path?q=1`, method: 'POST', headers: {}, body: new TextEncoder().encode('{}'), keepResponseHeader: isRelayedResponseHeader }));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('r1');
    expect(response.headers.get('content-length')).toBe('11');
    expect(response.headers.has('set-cookie')).toBe(false);
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    });
    await response.writeBodyTo?.(sink);
    expect(Buffer.concat(chunks).toString()).toBe('{"ok":true}');
  });

  it('answers a status without a body with none', async () => {
    route = (_req, res) => res.writeHead(204).end();
    const response = await upstream({ url: `${base}/`, method: 'DELETE', headers: {} });
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
  });

  it('reads the upstream body only as fast as the writable takes it', async () => {
    const size = 64 * 1024 * 1024;
    const progress = { sent: 0 };
    route = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      writeBigBody(res, size, progress);
    };
    const response = await upstream({ url: `${base}/big`, method: 'GET', headers: {} });
    const sink = stalledSink();
    const written = response.writeBodyTo?.(sink);
    await wait(300);
    // The sockets on the way hold a few MB; without backpressure the whole 64 MB would have been read.
    expect(progress.sent).toBeLessThan(size / 4);
    sink.open();
    // Open now: the rest flows, and the body ends.
    await written;
    expect(progress.sent).toBe(size);
  });

  it('reads a body larger than it keeps for its reader, through a web stream read slowly', async () => {
    const size = 4 * 1024 * 1024;
    route = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      writeBigBody(res, size, { sent: 0 });
    };
    const response = await upstream({ url: `${base}/web`, method: 'GET', headers: {} });
    // Not read at once: the first 64 KiB are kept, and the call is paused, until the reader comes.
    await wait(50);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
    }
    expect(total).toBe(size);
  });

  it('stops the call, closing its connection, when the client leaves before the answer', async () => {
    route = () => undefined;
    const signal = new ClientAbort();
    const answer = upstream({ url: `${base}/slow`, method: 'GET', headers: {}, signal });
    await wait(100);
    signal.abort();
    await expect(answer).rejects.toMatchObject({ name: 'AbortError' });
    await connectionClosed;
  });

  it('fails a call whose client left before it was made, without making it', async () => {
    const signal = new ClientAbort();
    signal.abort();
    await expect(upstream({ url: `${base}/never`, method: 'GET', headers: {}, signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('stops the call when the writable closes mid-body, and when the client leaves mid-body', async () => {
    route = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {}\n\n');
    };
    const first = await upstream({ url: `${base}/sse`, method: 'GET', headers: {} });
    const sink = stalledSink();
    sink.open();
    const written = first.writeBodyTo?.(sink);
    await wait(50);
    sink.destroy();
    await written;
    await connectionClosed;

    const signal = new ClientAbort();
    const second = await upstream({ url: `${base}/sse`, method: 'GET', headers: {}, signal });
    const other = stalledSink();
    other.open();
    const failed = second.writeBodyTo?.(other);
    await wait(50);
    signal.abort();
    await expect(failed).rejects.toMatchObject({ name: 'AbortError' });
    await connectionClosed;
  });

  it("names the upstream's host in a 502 when it cannot be reached", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(upstream({ url: `http://127.0.0.1:${port}/x`, method: 'GET', headers: {} })).rejects.toMatchObject({
      status: 502,
      message: expect.stringContaining(`127.0.0.1:${port}`),
    });
  });
});
