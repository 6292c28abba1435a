/** End to end, over raw HTTP and the SDK: bad input, auth modes, client aborts, stream compatibility, forward mode. */
import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { EMULATOR_API_KEY } from '../../src/emulator/server';
import { writeBigBody } from '../support/bigBody';
import { startProxy, startStack, waitFor, type Stack } from '../support/stack';

const KEY = { authorization: `Bearer ${EMULATOR_API_KEY}` };
const JSON_TYPE = { 'content-type': 'application/json' };

async function expectOpenAIError(response: Response, status: number, code?: string): Promise<Record<string, unknown>> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await response.json()) as { error: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error.message).toBe('string');
  expect(typeof body.error.type).toBe('string');
  expect(body.error).toHaveProperty('param');
  expect(body.error).toHaveProperty('code');
  if (code !== undefined) expect(body.error.code).toBe(code);
  return body.error;
}

describe('bad input and unknown routes', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { PROXY_MAX_BODY_BYTES: '2048' } });
  });
  afterAll(() => stack.close());

  const post = (path: string, body: string | Uint8Array, headers: Record<string, string> = { ...KEY, ...JSON_TYPE }) =>
    fetch(`${stack.host.url}${path}`, { method: 'POST', headers, body });

  it('400 for malformed JSON, a missing or non-string model, and a non-JSON content type; nothing sent upstream', async () => {
    const before = stack.emulator.requests.length;
    await expectOpenAIError(await post('/v1/chat/completions', '{"model": "gpt-4o", "messages": ['), 400, 'invalid_json');
    await expectOpenAIError(await post('/v1/chat/completions', '{"messages": []}'), 400, 'missing_required_parameter');
    await expectOpenAIError(await post('/v1/embeddings', '{"model": 42, "input": "x"}'), 400, 'invalid_type');
    await expectOpenAIError(
      await post('/v1/chat/completions', 'model=gpt-4o', { ...KEY, 'content-type': 'application/x-www-form-urlencoded' }),
      400,
      'unsupported_content_type',
    );
    expect(stack.emulator.requests.length).toBe(before);
  });

  it('400 for a body over the limit, declared or streamed', async () => {
    const big = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(4000) }] });
    await expectOpenAIError(await post('/v1/chat/completions', big), 400, 'request_too_large');
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(new TextEncoder().encode(' '.repeat(1000)));
        controller.close();
      },
    });
    const response = await fetch(`${stack.host.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...KEY, ...JSON_TYPE },
      body: chunked,
      duplex: 'half',
    });
    await expectOpenAIError(response, 400, 'request_too_large');
  });

  it('401 without a key, and nothing is sent upstream', async () => {
    const before = stack.emulator.requests.length;
    const error = await expectOpenAIError(await post('/v1/chat/completions', '{"model":"gpt-4o","messages":[]}', JSON_TYPE), 401, 'missing_api_key');
    expect(error.message).toMatch(/Authorization: Bearer/);
    await expectOpenAIError(await fetch(`${stack.baseURL}/models`), 401);
    expect(stack.emulator.requests.length).toBe(before);
  });

  it('404 in OpenAI shape for any route Azure OpenAI does not have, never a 5xx or HTML', async () => {
    for (const [method, path] of [
      ['GET', '/v1/realtime/sessions'],
      ['POST', '/v1/fine-tunes'],
      ['GET', '/'],
      ['GET', '/favicon.ico'],
      ['DELETE', '/v1/models/gpt-4o/extra'],
    ] as const) {
      const error = await expectOpenAIError(await fetch(`${stack.host.url}${path}`, { method, headers: KEY }), 404, 'unknown_url');
      expect(error.message).toContain('Azure OpenAI has no such API');
      expect(error.type).toBe('invalid_request_error');
    }
  });

  it('answers HEAD on a GET route as GET, without a body, and logs the answer it gave', async () => {
    const response = await fetch(`${stack.host.url}/v1/models`, { method: 'HEAD', headers: KEY });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
    await waitFor(() => stack.logs.some((line) => line.includes('method=HEAD') && line.includes('status=200')), 1000, 'the HEAD request to be logged');
  });

  it('405 with Allow for a known path with the wrong method', async () => {
    const response = await fetch(`${stack.baseURL}/chat/completions`, { headers: KEY });
    expect(response.headers.get('allow')).toBe('POST, OPTIONS');
    await expectOpenAIError(response, 405, 'method_not_allowed');
  });

  it('answers CORS preflight for any path, without a key', async () => {
    const response = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://chat.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
  });

  it('mocks the billing endpoints that web UIs call, labelled as mocks', async () => {
    for (const path of ['/v1/dashboard/billing/subscription', '/v1/dashboard/billing/usage?start_date=2026-11-01&end_date=2026-11-26', '/dashboard/billing/credit_grants']) {
      const response = await fetch(`${stack.host.url}${path}`, { headers: KEY });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-mock')).toBe('true');
      const body = (await response.json()) as { note: string };
      expect(body.note).toMatch(/Mocked by the Azure OpenAI proxy/);
    }
    const usage = (await (await fetch(`${stack.baseURL}/dashboard/billing/usage`, { headers: KEY })).json()) as { total_usage: number };
    expect(usage.total_usage).toBe(0);
  });
});

describe('a client that hangs up mid-stream', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ emulator: { chunkDelayMs: 25 } });
  });
  afterAll(() => stack.close());

  it('aborts the upstream stream within a second', async () => {
    const client = new OpenAI({ apiKey: EMULATOR_API_KEY, baseURL: stack.baseURL, maxRetries: 0 });
    // About 300 chunks at 25 ms: seven seconds of stream if nobody stops it.
    const long = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: long }], stream: true });
    let received = 0;
    for await (const _chunk of stream) {
      if (++received === 3) break; // leaving the loop aborts the SDK's request
    }
    expect(stack.emulator.stats.streamsStarted).toBe(1);
    const waited = await waitFor(() => stack.emulator.stats.streamsAborted === 1, 1000, 'the emulator to see the stream closed');
    expect(waited).toBeLessThan(1000);
    expect(stack.emulator.stats.streamsCompleted).toBe(0);
    await waitFor(() => stack.emulator.stats.openStreams === 0, 1000, 'no open upstream streams');
    await waitFor(() => stack.logs.some((line) => line.includes('status=499')), 1000, 'the request to be logged as closed by the client');
  });
});

describe('a client that hangs up before Azure answers', () => {
  it('closes the upstream call at once, and is logged as 499', async () => {
    // An upstream that takes the request and never answers, like a long completion.
    const upstreamClosed: number[] = [];
    let received = 0;
    const silent: Server = createServer((req) => {
      received++;
      req.socket.once('close', () => upstreamClosed.push(Date.now()));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const running = await startProxy({ AZURE_OPENAI_ENDPOINT: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` });
    try {
      const controller = new AbortController();
      const call = fetch(`${running.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { ...KEY, ...JSON_TYPE },
        body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'a long answer, please' }] }),
        signal: controller.signal,
      });
      await waitFor(() => received === 1, 1000, 'the call to reach the upstream');
      const hungUp = Date.now();
      controller.abort();
      await expect(call).rejects.toThrow();
      await waitFor(() => upstreamClosed.length === 1, 1000, 'the upstream connection to close');
      expect(upstreamClosed[0]! - hungUp).toBeLessThan(1000);
      await waitFor(() => running.logs.some((line) => line.includes('status=499')), 1000, 'the request to be logged as closed by the client');
    } finally {
      await running.close();
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

/**
 * Sends a request's head and the start of its body on a raw socket, then hangs up; resolves with the request's
 * log line once the proxy has written it.
 */
async function hangUpWhileSending(stack: Stack, head: string): Promise<string> {
  const url = new URL(stack.baseURL);
  const socket = connect(Number(url.port), url.hostname);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(head.replace('{host}', url.host));
  await new Promise((resolve) => setTimeout(resolve, 100));
  socket.destroy();
  await waitFor(() => stack.logs.some((line) => line.startsWith('info request ')), 2000, 'the request to be logged');
  return stack.logs.find((line) => line.startsWith('info request '))!;
}

describe('a client that hangs up while sending its body', () => {
  it('is logged as closed by the client (499), not as a failure of the proxy', async () => {
    const stack = await startStack();
    try {
      const line = await hangUpWhileSending(
        stack,
        `POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer ${EMULATOR_API_KEY}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":"gpt-4o",',
      );
      expect(line).toMatch(/status=499/);
      expect(stack.logs.some((l) => l.includes('unhandled error'))).toBe(false);
      expect(stack.emulator.requests).toHaveLength(0);
    } finally {
      await stack.close();
    }
  });
});

describe('a client that hangs up during an upload', () => {
  it('is logged as closed by the client (499), not as a failure of the proxy', async () => {
    const stack = await startStack();
    try {
      const line = await hangUpWhileSending(
        stack,
        `POST /v1/audio/transcriptions HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer ${EMULATOR_API_KEY}\r\n` +
          'Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n' +
          '--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF....',
      );
      expect(line).toMatch(/status=499/);
      expect(stack.logs.some((l) => l.includes('unhandled error'))).toBe(false);
    } finally {
      await stack.close();
    }
  });
});

describe('lengths of relayed bodies', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

  it("passes an answer's length on when its body goes through unchanged, and none for an event stream", async () => {
    const body = (stream: boolean): string => JSON.stringify({ model: 'gpt-4o', stream, messages: [{ role: 'user', content: 'length' }] });
    const plain = await fetch(`${stack.baseURL}/chat/completions`, { method: 'POST', headers: { ...KEY, ...JSON_TYPE }, body: body(false) });
    const bytes = new Uint8Array(await plain.arrayBuffer());
    expect(plain.headers.get('content-length')).toBe(String(bytes.byteLength));
    const streamed = await fetch(`${stack.baseURL}/chat/completions`, { method: 'POST', headers: { ...KEY, ...JSON_TYPE }, body: body(true) });
    expect(streamed.headers.get('content-length')).toBeNull();
    expect((await streamed.text()).endsWith('data: [DONE]\n\n')).toBe(true);
    // A converted error body has its own length, not Azure's.
    const failed = await fetch(`${stack.baseURL}/chat/completions`, { method: 'POST', headers: { ...KEY, ...JSON_TYPE }, body: JSON.stringify({ model: 'no-such-deployment', messages: [] }) });
    const text = await failed.text();
    expect(failed.status).toBe(404);
    expect(Number(failed.headers.get('content-length') ?? Buffer.byteLength(text))).toBe(Buffer.byteLength(text));
  });
});

describe('a slow client of the local host', () => {
  it('holds the upstream back rather than the body in memory (Node 22 and later too)', async () => {
    const SIZE = 48 * 1024 * 1024;
    const progress = { sent: 0 };
    const upstream: Server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'audio/mpeg' });
      writeBigBody(res, SIZE, progress);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const proxy = await startProxy({ AZURE_OPENAI_ENDPOINT: url });
    try {
      const request = httpRequest(`${proxy.baseURL}/audio/speech`, { method: 'POST', headers: { ...KEY, ...JSON_TYPE } });
      request.end('{"model":"tts","input":"x","voice":"alloy"}');
      const [response] = (await once(request, 'response')) as [IncomingMessage];
      response.pause();
      // The client reads nothing: the upstream must be stopped by full buffers, not read to its end.
      let last = -1;
      let since = Date.now();
      await waitFor(() => {
        if (progress.sent !== last) {
          last = progress.sent;
          since = Date.now();
        }
        return Date.now() - since > 300;
      }, 10_000, 'the upstream to be held back');
      expect(progress.sent).toBeLessThan(SIZE / 2);
      response.destroy();
    } finally {
      await proxy.close();
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });
});

describe('stream compatibility', () => {
  it('gives UIs chunks that all have a delta, even with the asynchronous filter', async () => {
    const stack = await startStack({ emulator: { asyncFilterChunks: true } });
    try {
      const client = new OpenAI({ apiKey: EMULATOR_API_KEY, baseURL: stack.baseURL, maxRetries: 0 });
      const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true });
      let text = '';
      for await (const chunk of stream) {
        // What a careless UI does: index the first choice's delta without guarding.
        text += chunk.choices[0]!.delta.content ?? '';
      }
      expect(text).toContain('You said: hi');
    } finally {
      await stack.close();
    }
  });

  it('leaves the stream exactly as Azure sent it when switched off', async () => {
    const stack = await startStack({ env: { AZURE_OPENAI_STREAM_COMPAT: 'false' } });
    try {
      const response = await fetch(`${stack.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { ...KEY, ...JSON_TYPE },
        body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      });
      const text = await response.text();
      const first = JSON.parse(text.split('\n\n')[0]!.slice('data: '.length)) as { choices: unknown[]; prompt_filter_results: unknown[] };
      expect(first.choices).toEqual([]);
      expect(first.prompt_filter_results).toHaveLength(1);
      expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    } finally {
      await stack.close();
    }
  });
});

describe('an older api-version', () => {
  it('is sent upstream, and Azure refusing a newer option reaches the SDK as a 400', async () => {
    const stack = await startStack({ env: { AZURE_OPENAI_APIVERSION: '2024-06-01' } });
    try {
      const client = new OpenAI({ apiKey: EMULATOR_API_KEY, baseURL: stack.baseURL, maxRetries: 0 });
      await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
      expect(stack.emulator.requests.at(-1)?.query['api-version']).toBe('2024-06-01');
      const error = await client.chat.completions
        .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], stream: true, stream_options: { include_usage: true } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as Error).message).toContain('Unrecognized request argument supplied: stream_options');
    } finally {
      await stack.close();
    }
  });
});

describe('a proxy that holds the Azure key (AZURE_OPENAI_TOKEN)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { AZURE_OPENAI_TOKEN: EMULATOR_API_KEY, PROXY_API_KEYS: 'client-key-a,client-key-b' } });
  });
  afterAll(() => stack.close());

  it('accepts its client keys and sends its own Azure key', async () => {
    const client = new OpenAI({ apiKey: 'client-key-b', baseURL: stack.baseURL, maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
    const upstream = stack.emulator.requests.at(-1)!;
    expect(upstream.headers['api-key']).toBe(EMULATOR_API_KEY);
    expect(JSON.stringify(upstream.headers)).not.toContain('client-key-b');
  });

  it('refuses other keys, the Azure key itself included, without calling Azure', async () => {
    const before = stack.emulator.requests.length;
    for (const apiKey of ['client-key', EMULATOR_API_KEY]) {
      const client = new OpenAI({ apiKey, baseURL: stack.baseURL, maxRetries: 0 });
      const error = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect(error).toMatchObject({ code: 'invalid_api_key' });
    }
    expect(stack.emulator.requests.length).toBe(before);
  });

  it('never writes a key to its log', () => {
    const log = stack.logs.join('\n');
    expect(stack.logs.length).toBeGreaterThan(0);
    for (const secret of [EMULATOR_API_KEY, 'client-key-a', 'client-key-b', 'client-key']) expect(log).not.toContain(secret);
  });
});

describe('AZURE_OPENAI_PROXY_MODE=openai', () => {
  let fakeOpenAI: Server;
  const seen: { method: string; url: string; authorization?: string; body: string }[] = [];
  let stack: Stack;

  beforeAll(async () => {
    fakeOpenAI = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
        if (req.url === '/v1/chat/completions' && body.includes('"stream":true')) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write('data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"from openai"},"finish_reason":null}]}\n\n');
          res.end('data: [DONE]\n\n');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [], path: req.url }));
      });
    });
    await new Promise<void>((resolve) => fakeOpenAI.listen(0, '127.0.0.1', resolve));
    const port = (fakeOpenAI.address() as AddressInfo).port;
    stack = await startStack({ env: { AZURE_OPENAI_PROXY_MODE: 'openai', OPENAI_BASE_URL: `http://127.0.0.1:${port}`, PROXY_MAX_BODY_BYTES: '4096' } });
  });
  afterAll(async () => {
    await stack.close();
    fakeOpenAI.closeAllConnections();
    await new Promise((resolve) => fakeOpenAI.close(resolve));
  });

  it('forwards every path unchanged with the caller key, streams included', async () => {
    const client = new OpenAI({ apiKey: 'sk-openai-user', baseURL: stack.baseURL, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('from openai');
    const response = await fetch(`${stack.baseURL}/assistants?limit=2`, { headers: { authorization: 'Bearer sk-openai-user' } });
    expect(await response.json()).toMatchObject({ path: '/v1/assistants?limit=2' });
    expect(seen.map((s) => s.url)).toEqual(['/v1/chat/completions', '/v1/assistants?limit=2']);
    expect(seen.every((s) => s.authorization === 'Bearer sk-openai-user')).toBe(true);
    expect(stack.emulator.requests).toHaveLength(0);
  });

  it('applies the body limit to streamed uploads too', async () => {
    const forwardedBefore = seen.length;
    const declared = await fetch(`${stack.baseURL}/files`, { method: 'POST', headers: { authorization: 'Bearer sk-openai-user' }, body: 'x'.repeat(5000) });
    await expectOpenAIError(declared, 400, 'request_too_large');
    expect(seen.length).toBe(forwardedBefore);
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new Uint8Array(1000));
        controller.close();
      },
    });
    const streamed = await fetch(`${stack.baseURL}/files`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-openai-user' },
      body: chunked,
      duplex: 'half',
    });
    await expectOpenAIError(streamed, 400, 'request_too_large');
  });
});
