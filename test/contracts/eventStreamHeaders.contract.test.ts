/**
 * With stream compatibility on, the proxy drops Azure's first chunk (the prompt filter's): the client must still
 * get the response headers when Azure's arrive, not when the first event it forwards does (a reasoning model may
 * think for many seconds before its first content). Both hosts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EMULATOR_API_KEY } from '../../src/emulator/server';
import { startFunctionsStack } from '../support/functionsStack';
import { startProxy } from '../support/stack';

const CONTENT_AFTER_MS = 1500;
let azure: Server;
let azureUrl: string;

beforeAll(async () => {
  azure = createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"choices":[],"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}\n\n');
      setTimeout(() => {
        res.write('data: {"choices":[{"index":0,"delta":{"content":"late"}}]}\n\n');
        res.end('data: [DONE]\n\n');
      }, CONTENT_AFTER_MS);
    });
  });
  await new Promise<void>((resolve) => azure.listen(0, '127.0.0.1', resolve));
  azureUrl = `http://127.0.0.1:${(azure.address() as AddressInfo).port}`;
});
afterAll(async () => {
  azure.closeAllConnections();
  await new Promise((resolve) => azure.close(resolve));
});

describe.each([
  ['the local host', (env: Record<string, string>) => startProxy(env)],
  ['the Functions host', (env: Record<string, string>) => startFunctionsStack(env)],
])('%s', (_name, start) => {
  it("sends an event stream's headers when Azure's arrive, though its first event is dropped", async () => {
    const host = await start({ AZURE_OPENAI_ENDPOINT: azureUrl, AZURE_OPENAI_STREAM_COMPAT: 'true' });
    try {
      const started = Date.now();
      const response = await fetch(`${host.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${EMULATOR_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      });
      const headersAfter = Date.now() - started;
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const text = await response.text();
      expect(text).toContain('late');
      expect(text).not.toContain('prompt_filter_results');
      // Well before the content, which comes CONTENT_AFTER_MS later.
      expect(headersAfter).toBeLessThan(CONTENT_AFTER_MS / 2);
    } finally {
      await host.close();
    }
  }, 20_000);
});
