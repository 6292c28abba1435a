/**
 * The upstream for the bench's CPU rows: every request answered at once with one Azure-shaped chat completion (the
 * emulator's headers and body for a short answer), written as one buffer. The emulator costs about as much per
 * request as a server; with it and the clients sharing one core, that core and not the server was the limit, and a
 * server that waits between requests spends part of each request's CPU on waking up. This upstream costs a fraction
 * of the emulator, so the server it answers runs flat out.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { messagesOf } from './http1';

const body = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1_764_288_000,
    model: 'gpt-4o-2024-11-20',
    choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'A short answer from the bench upstream.' } }],
    usage: { prompt_tokens: 11, completion_tokens: 9, total_tokens: 20 },
  }),
);
const head = [
  'HTTP/1.1 200 OK',
  'content-type: application/json',
  `content-length: ${body.length}`,
  'apim-request-id: 9189c821-aeed-4e69-b887-c1f60c4b8d46',
  'x-request-id: aaf91281-92da-4aed-a0a1-210eb2da7b57',
  'x-ms-region: Sweden Central',
  'x-ratelimit-remaining-requests: 999',
  'x-ratelimit-remaining-tokens: 99980',
];
const answer = Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), body]);

const server = createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('data', messagesOf(() => socket.write(answer)));
  socket.on('error', () => undefined);
});
server.listen(0, '127.0.0.1', () => {
  console.info(`fixed upstream at http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
