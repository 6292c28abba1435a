import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig, type Environment } from '../../src/core/config/config';
import { createProxy } from '../../src/core/proxy';
import type { UpstreamFetch, UpstreamRequest } from '../../src/core/upstream/upstream';
import { capturingLogger } from '../support/stack';

const ENDPOINT = 'https://res.openai.azure.com';

function proxyWith(upstream: UpstreamFetch, env: Environment = {}, logs: string[] = []) {
  return createProxy(loadConfig({ AZURE_OPENAI_ENDPOINT: ENDPOINT, ...env }), { upstream, logger: capturingLogger(logs) });
}

function chat(body: unknown, headers: Record<string, string> = {}): Request {
  return new Request('http://proxy.test/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: 'Bearer azure-key', 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** An upstream that answers with fixed bytes, cut into the given pieces, and records what it was sent. */
function scripted(pieces: readonly string[], init: { status?: number; headers?: Record<string, string> } = {}) {
  const calls: UpstreamRequest[] = [];
  const upstream: UpstreamFetch = async (request) => {
    calls.push(request);
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const piece of pieces) controller.enqueue(encoder.encode(piece));
        controller.close();
      },
    });
    return new Response(body, { status: init.status ?? 200, headers: init.headers ?? { 'content-type': 'application/json' } });
  };
  return { upstream, calls };
}

const AZURE_STREAM = [
  'data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}\n\n',
  'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hel',
  'lo"},"finish_reason":null}]}\n\ndata: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
  'data: [DONE]\n\n',
];

describe('Proxy translation', () => {
  it('calls the mapped deployment with the api-version, the key as api-key, and the body as sent', async () => {
    const { upstream, calls } = scripted(['{"ok":true}']);
    const proxy = proxyWith(upstream, { AZURE_OPENAI_MODEL_MAPPER: 'gpt-4o=prod-4o', AZURE_OPENAI_API_VERSION: '2024-06-01' });
    const sent = '{"model":"gpt-4o",  "messages":[{"role":"user","content":"h\u00e9"}],"unknown_field":[1,2]}';
    const response = await proxy.handle(chat(sent, { cookie: 'session=1', origin: 'https://ui.example', 'x-ms-client-request-id': 'r1' }));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('{"ok":true}');
    const call = calls[0]!;
    expect(call.url).toBe(`${ENDPOINT}/openai/deployments/prod-4o/chat/completions?api-version=2024-06-01`);
    expect(Buffer.from(call.body as Uint8Array).toString('utf8')).toBe(sent);
    expect(call.headers['api-key']).toBe('azure-key');
    expect(call.headers['x-ms-client-request-id']).toBe('r1');
    for (const dropped of ['authorization', 'cookie', 'origin']) expect(call.headers[dropped]).toBeUndefined();
  });

  it('passes a stream through byte for byte when compatibility is off', async () => {
    const { upstream } = scripted(AZURE_STREAM, { headers: { 'content-type': 'text/event-stream' } });
    const proxy = proxyWith(upstream, { AZURE_OPENAI_STREAM_COMPAT: 'false' });
    const response = await proxy.handle(chat({ model: 'gpt-4o', stream: true, messages: [] }));
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(await response.text()).toBe(AZURE_STREAM.join(''));
  });

  it('drops the empty-choices prompt-filter chunk when compatibility is on', async () => {
    const { upstream } = scripted(AZURE_STREAM, { headers: { 'content-type': 'text/event-stream' } });
    const response = await proxyWith(upstream).handle(chat({ model: 'gpt-4o', stream: true, messages: [] }));
    // In its place, an SSE comment that starts the response.
    expect(await response.text()).toBe(`:\n\n${AZURE_STREAM.slice(1).join('')}`);
  });

  it('gives CORS headers to browsers, and to answers a browser cache may reuse, not to a server-side POST', async () => {
    const { upstream } = scripted(['{}']);
    const proxy = proxyWith(upstream);
    const fromServer = await proxy.handle(chat({ model: 'gpt-4o', messages: [] }));
    expect(fromServer.headers.has('access-control-allow-origin')).toBe(false);
    expect(fromServer.headers.has('access-control-expose-headers')).toBe(false);
    const fromBrowser = await proxy.handle(chat({ model: 'gpt-4o', messages: [] }, { origin: 'https://chat.example' }));
    expect(fromBrowser.headers.get('access-control-allow-origin')).toBe('*');
    expect(fromBrowser.headers.get('access-control-expose-headers')).toContain('x-proxy-request-id');
    const list = await proxy.handle(new Request('http://proxy.test/v1/models', { headers: { authorization: 'Bearer k' } }));
    expect(list.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('returns useful upstream headers and no others', async () => {
    const { upstream } = scripted(['{}'], {
      headers: {
        'content-type': 'application/json',
        'x-ratelimit-remaining-tokens': '99',
        'apim-request-id': 'a1',
        'set-cookie': 'affinity=1',
        'strict-transport-security': 'max-age=1',
      },
    });
    const response = await proxyWith(upstream).handle(chat({ model: 'gpt-4o', messages: [] }, { origin: 'https://chat.example' }));
    expect(response.headers.get('x-ratelimit-remaining-tokens')).toBe('99');
    expect(response.headers.get('apim-request-id')).toBe('a1');
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.has('set-cookie')).toBe(false);
    expect(response.headers.has('strict-transport-security')).toBe(false);
  });

  it('converts an Azure error and keeps retry headers', async () => {
    const { upstream } = scripted(['{"error":{"code":"429","message":"Please retry after 3 seconds."}}'], {
      status: 429,
      headers: { 'content-type': 'application/json', 'retry-after': '3', 'retry-after-ms': '2500' },
    });
    const response = await proxyWith(upstream).handle(chat({ model: 'gpt-4o', messages: [] }));
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('3');
    expect(response.headers.get('retry-after-ms')).toBe('2500');
    expect(await response.json()).toEqual({ error: { message: 'Please retry after 3 seconds.', type: 'requests', param: null, code: '429' } });
  });

  it('answers an unexpected failure with a plain 500 that says nothing of it', async () => {
    const logs: string[] = [];
    const proxy = proxyWith(async () => Promise.reject(new Error('boom: internal detail')), {}, logs);
    const response = await proxy.handle(chat({ model: 'gpt-4o', messages: [] }));
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ error: { type: 'server_error', code: 'proxy_error' } });
    expect(text).not.toContain('boom');
    expect(logs.join('\n')).not.toContain('internal detail');
  });

  it('sends nothing upstream for a caller without a key', async () => {
    const { upstream, calls } = scripted(['{}']);
    const response = await proxyWith(upstream).handle(
      new Request('http://proxy.test/v1/chat/completions', { method: 'POST', body: '{"model":"gpt-4o"}' }),
    );
    expect(response.status).toBe(401);
    expect(calls).toHaveLength(0);
  });
});

describe('Proxy network failures', () => {
  let silent: Server;
  let silentUrl: string;
  beforeAll(async () => {
    // Accepts connections and never answers.
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('answers 502 in OpenAI shape when the upstream refuses the connection', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const proxy = createProxy(loadConfig({ AZURE_OPENAI_ENDPOINT: `http://127.0.0.1:${port}` }), { logger: capturingLogger([]) });
    const response = await proxy.handle(chat({ model: 'gpt-4o', messages: [] }));
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: { type: 'server_error', code: 'upstream_unreachable' } });
  });

  it('answers 504 when the upstream sends no headers in time', async () => {
    const proxy = createProxy(loadConfig({ AZURE_OPENAI_ENDPOINT: silentUrl, PROXY_ATTEMPT_TIMEOUT_SECONDS: '0.2' }), { logger: capturingLogger([]) });
    const response = await proxy.handle(chat({ model: 'gpt-4o', messages: [] }));
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ error: { code: 'upstream_timeout' } });
  });
});
