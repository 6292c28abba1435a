/**
 * What the proxy holds of an upstream answer is bounded: an event stream that never ends an event (which the SSE
 * filter used to copy whole on every chunk: quadratic CPU, memory growing with it), and Azure's model list, which
 * it reads whole to merge. Either fails cleanly, and the proxy keeps serving.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_PENDING_EVENT_BYTES } from '../../src/core/azure/streamCompat';
import { STREAM_BROKEN_MESSAGE } from '../../src/core/streams/sseErrorEvent';
import { EMULATOR_API_KEY } from '../../src/emulator/server';
import { writeBigBody } from '../support/bigBody';
import { startProxy, type RunningProxy } from '../support/stack';

let azure: Server;
let azureUrl: string;
let proxy: RunningProxy;

beforeAll(async () => {
  azure = createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      const path = new URL(req.url ?? '/', 'http://azure').pathname;
      if (path === '/openai/deployments/endless-event/chat/completions') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n');
        // One event that never ends: 64 KB at a time, past the bound.
        writeBigBody(res, MAX_PENDING_EVENT_BYTES + 1024 * 1024, { sent: 0 }, Buffer.from(`data: ${'x'.repeat(64 * 1024)}\n`));
      } else if (path === '/openai/models') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`{"data":[${Array.from({ length: 100_000 }, (_, i) => `{"id":"model-${i}-${'m'.repeat(80)}","capabilities":{"chat_completion":true}}`).join(',')}]}`);
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}]}');
      }
    });
  });
  await new Promise<void>((resolve) => azure.listen(0, '127.0.0.1', resolve));
  azureUrl = `http://127.0.0.1:${(azure.address() as AddressInfo).port}`;
  proxy = await startProxy({ AZURE_OPENAI_ENDPOINT: azureUrl, AZURE_OPENAI_MODELS_FROM_AZURE: 'true' });
});
afterAll(async () => {
  await proxy.close();
  azure.closeAllConnections();
  await new Promise((resolve) => azure.close(resolve));
});

const headers = { authorization: `Bearer ${EMULATOR_API_KEY}`, 'content-type': 'application/json' };

describe('bounded upstream answers', () => {
  it('ends a stream whose event never ends with an error event, past the bound, and keeps serving', async () => {
    const response = await fetch(`${proxy.baseURL}/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: 'endless-event', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text.startsWith('data: {"choices"')).toBe(true);
    expect(text).toContain(STREAM_BROKEN_MESSAGE);
    // Nothing of the oversized event was passed on.
    expect(text.length).toBeLessThan(64 * 1024);
    const next = await fetch(`${proxy.baseURL}/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }) });
    expect(next.status).toBe(200);
  }, 30_000);

  it("refuses Azure's model list past its bound with a 502, instead of holding it", async () => {
    const response = await fetch(`${proxy.baseURL}/models`, { headers });
    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('upstream_response_invalid');
  });
});
