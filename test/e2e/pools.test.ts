/**
 * Several deployments behind one model, end to end with two or three emulators (and dead, silent and broken
 * upstreams): spread by weight, failover on 429 with the cooldown honoured, on refused connections and on
 * timeouts, no retry once a stream has begun, and an immediate 429 when every backend is cooling down.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { AzureOpenAIEmulator, EMULATOR_API_KEY, type EmulatorDeployment } from '../../src/emulator/server';
import { startProxy, type RunningProxy } from '../support/stack';

const chatDeployment = (rateLimit?: EmulatorDeployment['rateLimit']): EmulatorDeployment[] => [
  { name: 'gpt-4o', model: 'gpt-4o-2024-08-06', kind: 'chat', ...(rateLimit !== undefined && { rateLimit }) },
];

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
});

async function emulator(rateLimit?: EmulatorDeployment['rateLimit']): Promise<AzureOpenAIEmulator> {
  const started = await AzureOpenAIEmulator.start({ deployments: chatDeployment(rateLimit) });
  running.push(started);
  return started;
}

async function proxyFor(pool: string, env: Record<string, string> = {}): Promise<RunningProxy> {
  const first = /^(http:\/\/[^/]+)/.exec(pool)?.[1] ?? 'http://127.0.0.1:9';
  const started = await startProxy({ AZURE_OPENAI_ENDPOINT: first, AZURE_OPENAI_MODEL_MAPPER: `pooled=${pool}`, ...env });
  running.push(started);
  return started;
}

/** A port with nothing listening on it. */
async function deadEndpoint(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

async function serverOf(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    handler?.(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  running.push({ close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, hits: () => hits };
}

async function chat(proxy: RunningProxy, stream = false): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(`${proxy.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${EMULATOR_API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'pooled', stream, messages: [{ role: 'user', content: 'hi' }] }),
  });
  return { status: response.status, headers: response.headers, text: await response.text().catch(() => '') };
}

const port = (url: string): string => new URL(url).port;

describe('a pool of backends', () => {
  it('spreads a tier by weight, evenly', async () => {
    const [a, b] = [await emulator(), await emulator()];
    const proxy = await proxyFor(`${a.url}/gpt-4o?weight=3|${b.url}/gpt-4o`);
    const answered: string[] = [];
    for (let i = 0; i < 8; i++) {
      const { status, headers } = await chat(proxy);
      expect(status).toBe(200);
      answered.push(headers.get('x-proxy-backend')!);
    }
    expect(a.requests).toHaveLength(6);
    expect(b.requests).toHaveLength(2);
    expect(answered.slice(0, 4)).toEqual([`gpt-4o@127.0.0.1:${port(a.url)}`, `gpt-4o@127.0.0.1:${port(a.url)}`, `gpt-4o@127.0.0.1:${port(b.url)}`, `gpt-4o@127.0.0.1:${port(a.url)}`]);
  });

  it('goes to a lower priority only when the higher one is unavailable', async () => {
    const [first, second] = [await emulator(), await emulator()];
    const proxy = await proxyFor(`${first.url}/gpt-4o?priority=1|${second.url}/gpt-4o?priority=2`);
    for (let i = 0; i < 4; i++) await chat(proxy);
    expect(first.requests).toHaveLength(4);
    expect(second.requests).toHaveLength(0);
  });

  it('fails over on 429 and keeps the cooled backend out until its retry-after has passed', async () => {
    const limited = await emulator({ requests: 1, windowMs: 1500 });
    const spare = await emulator();
    const proxy = await proxyFor(`${limited.url}/gpt-4o?priority=1|${spare.url}/gpt-4o?priority=2`);
    expect((await chat(proxy)).headers.get('x-proxy-attempts')).toBe('1');
    const failedOver = await chat(proxy);
    expect(failedOver.status).toBe(200);
    expect(failedOver.headers.get('x-proxy-attempts')).toBe('2');
    expect(failedOver.headers.get('x-proxy-backend')).toBe(`gpt-4o@127.0.0.1:${port(spare.url)}`);
    expect(limited.requests).toHaveLength(2);
    // Cooling down: the limited backend is not called at all.
    for (let i = 0; i < 3; i++) expect((await chat(proxy)).headers.get('x-proxy-attempts')).toBe('1');
    expect(limited.requests).toHaveLength(2);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const back = await chat(proxy);
    expect(back.headers.get('x-proxy-backend')).toBe(`gpt-4o@127.0.0.1:${port(limited.url)}`);
    expect(limited.requests).toHaveLength(3);
    expect(proxy.logs.some((line) => /status=200 .*attempts=2/.test(line))).toBe(true);
  });

  it('fails over on a refused connection, and stops trying a backend whose circuit opened', async () => {
    const live = await emulator();
    const proxy = await proxyFor(`${await deadEndpoint()}/gpt-4o?priority=1|${live.url}/gpt-4o?priority=2`, { PROXY_CIRCUIT_FAILURES: '2' });
    expect((await chat(proxy)).headers.get('x-proxy-attempts')).toBe('2');
    expect((await chat(proxy)).headers.get('x-proxy-attempts')).toBe('2');
    // Two failures in a row: the dead backend is left alone for a while.
    const third = await chat(proxy);
    expect(third.status).toBe(200);
    expect(third.headers.get('x-proxy-attempts')).toBe('1');
  });

  it('fails over on a timeout, within the attempt timeout', async () => {
    const silent = await serverOf(() => undefined); // accepts, never answers
    const live = await emulator();
    const proxy = await proxyFor(`${silent.url}/gpt-4o?priority=1|${live.url}/gpt-4o?priority=2`, { PROXY_ATTEMPT_TIMEOUT_SECONDS: '0.3' });
    const started = Date.now();
    const result = await chat(proxy);
    expect(result.status).toBe(200);
    expect(result.headers.get('x-proxy-attempts')).toBe('2');
    expect(silent.hits()).toBe(1);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('never retries once a stream has begun, and ends it with an error event when the upstream breaks', async () => {
    const broken = await serverOf((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}\n\n');
      setTimeout(() => res.socket?.destroy(), 50);
    });
    const spare = await emulator();
    const proxy = await proxyFor(`${broken.url}/gpt-4o?priority=1|${spare.url}/gpt-4o?priority=2`);
    const response = await fetch(`${proxy.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${EMULATOR_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'pooled', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.headers.get('x-proxy-attempts')).toBe('1');
    // What arrived before the break reaches the client, and then an error event, never an end that looks whole.
    const events = (await response.text()).split('\n\n').filter((event) => event !== '');
    expect(events[0]).toContain('"content":"Hel"');
    expect(JSON.parse(events.at(-1)!.slice('data: '.length))).toMatchObject({ error: { type: 'server_error', code: 'upstream_stream_broken' } });
    expect(events.some((event) => event.includes('[DONE]'))).toBe(false);
    expect(spare.requests).toHaveLength(0);
  });

  it('answers 429 at once, without calling Azure, when every backend is cooling down', async () => {
    const [a, b] = [await emulator({ requests: 1, windowMs: 3000 }), await emulator({ requests: 1, windowMs: 3000 })];
    const proxy = await proxyFor(`${a.url}/gpt-4o|${b.url}/gpt-4o`);
    await chat(proxy);
    await chat(proxy);
    const exhausted = await chat(proxy); // both answer 429: the last 429 comes back
    expect(exhausted.status).toBe(429);
    expect(exhausted.headers.get('x-proxy-attempts')).toBe('2');
    const calls = a.requests.length + b.requests.length;
    const started = Date.now();
    const immediate = await chat(proxy);
    expect(Date.now() - started).toBeLessThan(200);
    expect(immediate.status).toBe(429);
    expect(a.requests.length + b.requests.length).toBe(calls);
    expect(immediate.headers.get('x-proxy-attempts')).toBe('0');
    const waitMs = Number(immediate.headers.get('retry-after-ms'));
    expect(waitMs).toBeGreaterThan(0);
    expect(waitMs).toBeLessThanOrEqual(3000);
    expect(Number(immediate.headers.get('retry-after'))).toBe(Math.ceil(waitMs / 1000));
    expect(JSON.parse(immediate.text)).toMatchObject({ error: { type: 'requests', code: 'rate_limit_exceeded' } });
    // The official SDK would wait that long and retry, and then succeed.
    const client = new OpenAI({ apiKey: EMULATOR_API_KEY, baseURL: proxy.baseURL, maxRetries: 2 });
    await expect(client.chat.completions.create({ model: 'pooled', messages: [{ role: 'user', content: 'x' }] })).resolves.toMatchObject({ object: 'chat.completion' });
  });

  it('tries at most PROXY_MAX_ATTEMPTS backends for one request', async () => {
    const dead = await Promise.all([deadEndpoint(), deadEndpoint(), deadEndpoint(), deadEndpoint()]);
    const proxy = await proxyFor(dead.map((url) => `${url}/gpt-4o`).join('|'), { PROXY_MAX_ATTEMPTS: '3' });
    const result = await chat(proxy);
    expect(result.status).toBe(502);
    expect(result.headers.get('x-proxy-attempts')).toBe('3');
    expect(JSON.parse(result.text)).toMatchObject({ error: { code: 'upstream_unreachable' } });
  });
});
