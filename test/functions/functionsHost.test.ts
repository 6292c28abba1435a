/**
 * The app as Azure runs it: the built function files under the stand-in Functions host and worker
 * (test/support/functionsHost), driving the real `@azure/functions` library through its HTTP-stream path, with the
 * official `openai` SDK as the client and the Azure OpenAI emulator (or a scripted Azure) upstream.
 */
import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI, { APIError, toFile } from 'openai';
import { CATCH_ALL_FUNCTION, FUNCTION_NAMES, ROUTE_TABLE } from '../../src/core/routes/routes';
import { STREAM_BROKEN_MESSAGE } from '../../src/core/streams/sseErrorEvent';
import { AzureOpenAIEmulator, EMULATOR_API_KEY } from '../../src/emulator/server';
import { writeBigBody } from '../support/bigBody';
import { requestLineOf, requestRecord, startFunctionsStack, type FunctionsStack } from '../support/functionsStack';
import { waitFor } from '../support/stack';
import { makeWav } from '../support/wav';

const auth = { authorization: `Bearer ${EMULATOR_API_KEY}`, 'content-type': 'application/json' };
const BIG_BODY_BYTES = 64 * 1024 * 1024;

/** Azure as a test needs it to misbehave: streams that break off, and a body larger than any buffer. */
interface ScriptedAzure {
  url: string;
  /** Bytes of the big body the upstream socket has taken so far. */
  bigBytesSent(): number;
  close(): Promise<void>;
}

async function startScriptedAzure(): Promise<ScriptedAzure> {
  const big = { sent: 0 };
  const chunk = (content: string): string =>
    `data: ${JSON.stringify({ id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 0, model: 'gpt-4o', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.once('end', () => {
      const path = new URL(req.url ?? '/', 'http://azure').pathname;
      if (path === '/openai/deployments/broken-stream/chat/completions') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(chunk('Hello'));
        res.write(chunk(' there'));
        setTimeout(() => res.destroy(), 100);
      } else if (path === '/openai/deployments/broken-audio/audio/speech') {
        res.writeHead(200, { 'content-type': 'audio/mpeg' });
        res.write(Buffer.alloc(32 * 1024, 1));
        setTimeout(() => res.destroy(), 100);
      } else if (path === '/openai/deployments/big-audio/audio/speech') {
        res.writeHead(200, { 'content-type': 'audio/mpeg' });
        writeBigBody(res, BIG_BODY_BYTES, big);
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"404","message":"Resource not found"}}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bigBytesSent: () => big.sent,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let emulator: AzureOpenAIEmulator;
let scripted: ScriptedAzure;
let stack: FunctionsStack;
let client: OpenAI;

beforeAll(async () => {
  emulator = await AzureOpenAIEmulator.start({ chunkDelayMs: 20 });
  scripted = await startScriptedAzure();
  const mapper = [
    'gpt-4o=gpt-4o',
    'whisper-1=whisper',
    `broken-stream=${scripted.url}/broken-stream`,
    `broken-audio=${scripted.url}/broken-audio`,
    `big-audio=${scripted.url}/big-audio`,
  ].join(',');
  stack = await startFunctionsStack({ AZURE_OPENAI_ENDPOINT: emulator.url, AZURE_OPENAI_MODEL_MAPPER: mapper });
  client = new OpenAI({ baseURL: stack.baseURL, apiKey: EMULATOR_API_KEY, maxRetries: 0 });
});

afterAll(async () => {
  await stack?.close();
  await scripted?.close();
  await emulator?.close();
});

/** A path of the route table with its parameters filled in. */
const concrete = (path: string): string => `/v1${path.replace(/\{(\w+)\}/g, (_, name: string) => `${name}-1`)}`;

describe('routes under the Functions host', () => {
  it('sends every route-table path to its own function, and only what is left to the catch-all', async () => {
    expect(stack.host.functions.map((f) => f.name).sort()).toEqual([...FUNCTION_NAMES, CATCH_ALL_FUNCTION].sort());
    expect(stack.host.routeOrder.at(-1)?.functionName).toBe(CATCH_ALL_FUNCTION);
    for (const route of ROUTE_TABLE) {
      for (const method of [...route.methods, 'OPTIONS']) {
        const response = await fetch(`${stack.host.url}${concrete(route.path)}`, {
          method,
          headers: { ...auth, origin: 'https://chat.example' },
          ...(method === 'POST' && { body: '{}' }),
        });
        await response.arrayBuffer();
        expect(`${method} ${route.path} -> ${stack.host.invocations.at(-1)?.functionName}`).toBe(`${method} ${route.path} -> ${route.functionName}`);
      }
    }
  });

  it('hands the catch-all paths without /v1 and unknown paths, and it still serves them', async () => {
    const bare = await fetch(`${stack.host.url}/chat/completions`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'bare path' }] }),
    });
    expect(bare.status).toBe(200);
    expect(stack.host.invocations.at(-1)?.functionName).toBe(CATCH_ALL_FUNCTION);
    const unknown = await fetch(`${stack.host.url}/v1/realtime/sessions`, { method: 'POST', headers: auth, body: '{}' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('unknown_url');
    expect(stack.host.invocations.at(-1)?.functionName).toBe(CATCH_ALL_FUNCTION);
  });
});

describe('the openai SDK through the Functions host', () => {
  it('gets a chat completion, and a stream chunk by chunk as the upstream sends them', async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'plain' }] });
    expect(completion.choices[0]?.message.content).toContain('You said: plain');

    const stream = await client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'one two three four five six' }] });
    const arrivals: number[] = [];
    let text = '';
    for await (const chunk of stream) {
      arrivals.push(performance.now());
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text).toContain('one two three four five six');
    // The emulator sends a chunk every 20 ms: chunks that arrive together were held back somewhere.
    expect(arrivals.length).toBeGreaterThan(8);
    const spread = (arrivals.at(-1) as number) - (arrivals[0] as number);
    expect(spread).toBeGreaterThan((arrivals.length - 2) * 20 * 0.6);
  });

  it('uploads audio for a transcription', async () => {
    const file = await toFile(makeWav(2), 'speech.wav', { type: 'audio/wav' });
    const transcription = await client.audio.transcriptions.create({ file, model: 'whisper-1' });
    expect(transcription.text.length).toBeGreaterThan(0);
    expect(stack.host.invocations.at(-1)?.functionName).toBe('audioTranscriptions');
    expect(emulator.requests.at(-1)?.bodyBytes).toBeGreaterThan(64_000);
  });

  it('reads the headers the client sent, even when the JSON body has a "headers" property', async () => {
    // The host adds a JSON body's top-level properties to the trigger metadata, where a "headers" one takes the
    // place of the request's headers: the library's request then has none.
    const response = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ model: 'gpt-4o', headers: { note: 'a field of the body' }, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
  });
});

describe('logs under the Functions host', () => {
  it('writes each request line as its invocation, with its usage, and no warning about logging late', async () => {
    const before = stack.host.invocations.length;
    await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'logged' }] });
    const stream = await client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'logged stream' }] });
    for await (const _ of stream) void _;
    const invocations = stack.host.invocations.slice(before);
    expect(invocations).toHaveLength(2);
    for (const invocation of invocations) {
      const line = await requestLineOf(stack.host, invocation.invocationId);
      expect(line).toMatchObject({ category: 'chatCompletions.Invocation', level: 'information', logCategory: 'user' });
      expect(requestRecord(line)).toMatchObject({ status: 200, route: 'chatCompletions', model: 'gpt-4o' });
      expect(requestRecord(line).total_tokens).toEqual(expect.any(Number));
    }
    expect(stack.host.logs.filter((log) => log.message.includes("Unexpected call to 'log'"))).toEqual([]);
  });
});

describe('a client that leaves mid-stream, under the Functions host', () => {
  let slow: AzureOpenAIEmulator;
  let slowStack: FunctionsStack;
  beforeAll(async () => {
    slow = await AzureOpenAIEmulator.start({ chunkDelayMs: 200 });
    slowStack = await startFunctionsStack({ AZURE_OPENAI_ENDPOINT: slow.url, AZURE_OPENAI_MODEL_MAPPER: 'gpt-4o=gpt-4o' });
  });
  afterAll(async () => {
    await slowStack?.close();
    await slow?.close();
  });

  it('aborts the upstream call within a second, and is logged as 499', async () => {
    const controller = new AbortController();
    const response = await fetch(`${slowStack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'a b c d e f g h i j k l m n o p' }] }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    const waited = await waitFor(() => slow.stats.streamsAborted === 1, 1000, 'the upstream stream to be closed');
    expect(waited).toBeLessThan(1000);
    expect(slow.stats.streamsCompleted).toBe(0);
    const line = await requestLineOf(slowStack.host, slowStack.host.invocations.at(-1)!.invocationId);
    expect(requestRecord(line).status).toBe(499);
  });
});

describe('an upstream that breaks off, under the Functions host', () => {
  it('ends a stream with an error event the SDK raises, and the connection closes within a second', async () => {
    const stream = await client.chat.completions.create({ model: 'broken-stream', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    const started = Date.now();
    let failure: unknown;
    try {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    } catch (error) {
      failure = error;
    }
    expect(text).toBe('Hello there');
    expect(failure).toBeInstanceOf(APIError);
    expect((failure as APIError).message).toContain(STREAM_BROKEN_MESSAGE);
    expect(Date.now() - started).toBeLessThan(1000);
    const line = await requestLineOf(stack.host, stack.host.invocations.at(-1)!.invocationId);
    expect(requestRecord(line)).toMatchObject({ status: 200, body: 'failed' });
  });

  it('cuts any other body at once, so the client sees it broken rather than complete', async () => {
    const response = await fetch(`${stack.baseURL}/audio/speech`, { method: 'POST', headers: auth, body: JSON.stringify({ model: 'broken-audio', input: 'hi', voice: 'alloy' }) });
    expect(response.status).toBe(200);
    const started = Date.now();
    await expect(response.arrayBuffer()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('a slow client under the Functions host', () => {
  it('holds the upstream back instead of the whole body in the worker, and gets every byte in the end', async () => {
    const idle = await stack.host.sampleWorker();
    const request = httpRequest(`${stack.baseURL}/audio/speech`, { method: 'POST', headers: auth });
    request.end(JSON.stringify({ model: 'big-audio', input: 'a long read', voice: 'alloy' }));
    const [response] = (await once(request, 'response')) as [IncomingMessage];
    expect(response.statusCode).toBe(200);
    response.pause();
    // The upstream writes as fast as it is let: wait until it has stopped.
    let last = -1;
    await waitFor(() => {
      const sent = scripted.bigBytesSent();
      const still = sent === last;
      last = sent;
      return still && sent > 0;
    }, 10_000, 'the upstream to be held back');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const held = scripted.bigBytesSent();
    const paused = await stack.host.sampleWorker();
    // What loopback sockets buffer along the way (upstream, host, client), not the body.
    expect(held).toBeLessThan(24 * 1024 * 1024);
    expect(paused.rssBytes - idle.rssBytes).toBeLessThan(48 * 1024 * 1024);
    let received = 0;
    response.on('data', (chunk: Buffer) => (received += chunk.length));
    response.resume();
    await once(response, 'end');
    expect(received).toBe(BIG_BODY_BYTES);
  });
});

describe('a misconfigured app under the Functions host', () => {
  it('indexes every function, and answers 503 proxy_not_ready naming the bad setting, logged once', async () => {
    const broken = await startFunctionsStack({
      AZURE_OPENAI_ENDPOINT: emulator.url,
      AZURE_OPENAI_MODEL_MAPPER: 'gpt4',
      AZURE_OPENAI_TOKEN: 'secret-value-123',
      AZURE_OPENAI_AUTH: 'passthrough',
    });
    try {
      expect(broken.host.loadError).toBeUndefined();
      expect(broken.host.functions.map((f) => f.name).sort()).toEqual([...FUNCTION_NAMES, CATCH_ALL_FUNCTION].sort());
      for (let i = 0; i < 2; i++) {
        const response = await fetch(`${broken.baseURL}/chat/completions`, { method: 'POST', headers: auth, body: '{"model":"gpt-4o","messages":[]}' });
        expect(response.status).toBe(503);
        const text = await response.text();
        expect(text).not.toContain('secret-value-123');
        const { error } = JSON.parse(text) as { error: { code: string; message: string } };
        expect(error.code).toBe('proxy_not_ready');
        expect(error.message).toContain('AZURE_OPENAI_MODEL_MAPPER');
        expect(error.message).toContain('AZURE_OPENAI_TOKEN');
      }
      expect(broken.host.workerOutput().split('the proxy could not start')).toHaveLength(2);
      expect(broken.host.workerOutput()).not.toContain('secret-value-123');
    } finally {
      await broken.close();
    }
  });
});
