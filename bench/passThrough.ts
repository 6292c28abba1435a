/**
 * The floor the benchmark measures against: a bare Node `http` server that forwards each call to Azure's URL for
 * it with undici's `request`, moving the key to `api-key`, and pipes the answer back. No checks, no mapping, no
 * logging: the least work any Node proxy can do.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Agent, request } from 'undici';

const upstream = process.env.UPSTREAM ?? 'http://127.0.0.1:8081';
const apiVersion = '2024-10-21';
const dispatcher = new Agent({ keepAliveTimeout: 30_000 });

const server = createServer((req, res) => {
  const deployment = 'gpt-4o';
  const path = `/openai/deployments/${deployment}${(req.url ?? '/').replace(/^\/v1/, '')}?api-version=${apiVersion}`;
  const key = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
  request(`${upstream}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'api-key': key },
    body: req,
    dispatcher,
  })
    .then(async ({ statusCode, headers, body }) => {
      res.writeHead(statusCode, { 'content-type': String(headers['content-type'] ?? 'application/json') });
      await pipeline(body, res);
    })
    .catch(() => res.destroy());
});

server.listen(0, '127.0.0.1', () => {
  console.info(`pass-through listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
