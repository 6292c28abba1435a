/**
 * The floor the benchmark measures against: the cheapest correct pass-through, a bare Node `http` server that
 * reads the request body into one buffer, calls Azure's URL for it with undici's `request` (moving the key to
 * `api-key`), and writes the answer back in one write with its length; an event stream is written on chunk by
 * chunk, as it must be. No checks, no mapping, no logging, no stream objects of its own.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';

const upstream = process.env.UPSTREAM ?? 'http://127.0.0.1:8081';
const apiVersion = '2024-10-21';
const dispatcher = new Agent({ keepAliveTimeout: 30_000 });

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const path = `/openai/deployments/gpt-4o${(req.url ?? '/').replace(/^\/v1/, '')}?api-version=${apiVersion}`;
    const key = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    request(`${upstream}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'api-key': key },
      body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks),
      dispatcher,
    })
      .then(({ statusCode, headers, body }) => {
        const type = String(headers['content-type'] ?? 'application/json');
        const parts: Buffer[] = [];
        if (type.startsWith('text/event-stream')) {
          res.writeHead(statusCode, { 'content-type': type });
          body.on('data', (chunk: Buffer) => res.write(chunk));
        } else {
          body.on('data', (chunk: Buffer) => parts.push(chunk));
        }
        body.on('end', () => {
          if (res.headersSent) {
            res.end();
            return;
          }
          const answer = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
          res.writeHead(statusCode, { 'content-type': type, 'content-length': answer.length });
          res.end(answer);
        });
        body.on('error', () => res.destroy());
      })
      .catch(() => res.destroy());
  });
});

server.listen(0, '127.0.0.1', () => {
  console.info(`floor listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
