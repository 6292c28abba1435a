/**
 * The floor the benchmark measures against: the cheapest correct pass-through, a bare Node `http` server that
 * reads the request body into one buffer, dispatches Azure's URL for it to an undici Agent with a handler of its
 * own, as the proxy does (moving the key to `api-key`), and writes the answer back in one write with its length;
 * an event stream is written on chunk by chunk, as it must be, pausing the upstream read while the client is full
 * (and stopping it if the client leaves). No checks, no mapping, no logging, no stream objects of its own. Until
 * 2026-11-28's ninth round it called undici's `request`, which makes a Node Readable, a handler and an async
 * resource for every answer: a quarter of the floor's work (README, "Benchmark").
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, type Dispatcher } from 'undici';

const upstream = new URL(process.env.UPSTREAM ?? 'http://127.0.0.1:8081');
const apiVersion = '2024-10-21';
const dispatcher = new Agent({ keepAliveTimeout: 30_000 });

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const path = `/openai/deployments/gpt-4o${(req.url ?? '/').replace(/^\/v1/, '')}?api-version=${apiVersion}`;
    const key = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const parts: Buffer[] = [];
    let status = 502;
    let type = 'application/json';
    let streaming = false;
    let abort: ((reason: Error) => void) | undefined;
    // undici 7's own form of a handler (its `request` uses it too); its newer form is wrapped into this one on every
    // call, with every header decoded, which costs the floor about 15% more (src/core/upstream/upstream.ts).
    const handler: Dispatcher.DispatchHandler = {
      onConnect(abortCall) {
        abort = abortCall;
      },
      onHeaders(statusCode, rawHeaders, resume) {
        status = statusCode;
        // Only a name as long as `content-type` is read as text.
        for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
          const name = rawHeaders[i] as Buffer;
          if (name.length === 12 && name.toString('latin1').toLowerCase() === 'content-type') type = (rawHeaders[i + 1] as Buffer).toString('latin1');
        }
        if (!type.startsWith('text/event-stream')) return true;
        streaming = true;
        res.writeHead(statusCode, { 'content-type': type });
        res.on('drain', resume);
        // A client that leaves a stream stops its upstream call.
        res.on('close', () => {
          if (!res.writableFinished) abort?.(new Error('The client went away.'));
        });
        return true;
      },
      // false pauses the upstream read until the client drains.
      onData(chunk) {
        if (streaming) return res.write(chunk);
        parts.push(chunk);
        return true;
      },
      onComplete() {
        if (streaming) {
          res.end();
          return;
        }
        const answer = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
        res.writeHead(status, { 'content-type': type, 'content-length': answer.length });
        res.end(answer);
      },
      onError() {
        res.destroy();
      },
    };
    dispatcher.dispatch(
      {
        origin: upstream.origin,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'api-key': key },
        body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks),
      },
      handler,
    );
  });
});

server.listen(0, '127.0.0.1', () => {
  console.info(`floor listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
