/**
 * Limits and budgets per client key, with the `openai` SDK as the client: OpenAI's 429s and headers, the SDK's own
 * retry on them, nothing sent to Azure for a refused request; then two proxy processes sharing one key's limit
 * through Table Storage (Azurite), within the documented bound, and serving on through a store outage.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import OpenAI from 'openai';
import { loadConfig } from '../../src/core/config/config';
import { createProxy } from '../../src/core/proxy';
import { AzureOpenAIEmulator, EMULATOR_API_KEY } from '../../src/emulator/server';
import { startLocalHost, type LocalHost } from '../../src/hosting/node/localHost';
import { Azurite } from '../support/azurite';
import { childEnvironment, runProxyProcess, type ProxyProcess } from '../support/proxyProcess';
import { capturingLogger } from '../support/stack';

let emulator: AzureOpenAIEmulator;
beforeAll(async () => {
  emulator = await AzureOpenAIEmulator.start();
});
afterAll(() => emulator.close());

const held = (limits: unknown): Record<string, string> => ({
  AZURE_OPENAI_ENDPOINT: emulator.url,
  AZURE_OPENAI_AUTH: 'key',
  AZURE_OPENAI_TOKEN: EMULATOR_API_KEY,
  PROXY_API_KEYS: 'alice-key,bob-key',
  PROXY_KEY_LIMITS: JSON.stringify(limits),
});
const chat = (client: OpenAI): Promise<OpenAI.Chat.Completions.ChatCompletion> => client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
const toEmulator = (): number => emulator.requests.filter((r) => r.path.includes('/chat/completions')).length;

describe('limits per client key', () => {
  let host: LocalHost;
  let logs: string[];
  const start = async (limits: unknown): Promise<string> => {
    logs = [];
    // A rate window of one second, so the SDK's wait for one is short.
    const proxy = createProxy(loadConfig(held(limits)), { logger: capturingLogger(logs), rateWindowMs: 1000 });
    host = await startLocalHost({ proxy });
    return `${host.url}/v1`;
  };
  afterEach(() => host.close());

  it("answers OpenAI's 429 with its headers, sends nothing to Azure for it, and the SDK's retry gets through once the window slides", async () => {
    const baseURL = await start({ requestsPerMinute: 2 });
    const alice = new OpenAI({ apiKey: 'alice-key', baseURL, maxRetries: 0 });
    const first = await alice.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(first.response.headers.get('x-ratelimit-limit-requests')).toBe('2');
    expect(first.response.headers.get('x-ratelimit-remaining-requests')).toBe('1');
    await chat(alice);
    const before = toEmulator();
    const error = await chat(alice).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error).toMatchObject({ status: 429, code: 'rate_limit_exceeded', type: 'requests' });
    const headers = (error as { headers?: Headers }).headers;
    expect(headers?.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(Number(headers?.get('retry-after-ms'))).toBeGreaterThan(0);
    expect(toEmulator()).toBe(before);
    // Another key has its own count.
    await chat(new OpenAI({ apiKey: 'bob-key', baseURL, maxRetries: 0 }));

    const patient = new OpenAI({ apiKey: 'alice-key', baseURL, maxRetries: 3 });
    const started = Date.now();
    await chat(patient);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(logs.filter((line) => line.includes('status=429') && line.includes('client=env-1')).length).toBeGreaterThanOrEqual(2);
  }, 15_000);

  it('counts the tokens a response used, and refuses a spent budget with insufficient_quota, which the SDK does not retry', async () => {
    const baseURL = await start({ tokensPerDay: 30 });
    const alice = new OpenAI({ apiKey: 'alice-key', baseURL, maxRetries: 3 });
    const { data, response } = await alice.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    // Admitted on what was counted before it: the whole budget.
    expect(response.headers.get('x-ratelimit-remaining-tokens')).toBe('30');
    const used = data.usage?.total_tokens ?? 0;
    expect(used).toBeGreaterThan(0);
    // A stream's tokens are counted from its usage chunk, which the proxy asks for itself.
    let streamed = 0;
    const stream = await alice.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true });
    for await (const _chunk of stream) streamed++;
    expect(streamed).toBeGreaterThan(0);
    const before = toEmulator();
    const started = Date.now();
    const error = await chat(alice).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 429, code: 'insufficient_quota', type: 'insufficient_quota' });
    expect((error as Error).message).toMatch(/budget of 30 tokens per day \(UTC\) and has used \d+/);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(toEmulator()).toBe(before);
  });

  it('counts what each response cost at its model\'s price, and refuses a spent money budget', async () => {
    logs = [];
    // One unit of money a token, in and out: the emulator's answers cost their token counts.
    const env = { ...held({ costPerDay: 40 }), PROXY_PRICES: JSON.stringify({ 'gpt-4o': { input: 1_000_000, output: 1_000_000 } }) };
    host = await startLocalHost({ proxy: createProxy(loadConfig(env), { logger: capturingLogger(logs) }) });
    const alice = new OpenAI({ apiKey: 'alice-key', baseURL: `${host.url}/v1`, maxRetries: 0 });
    const first = await chat(alice);
    expect(first.usage?.total_tokens).toBeLessThan(40);
    await chat(alice);
    await expect(chat(alice)).rejects.toMatchObject({ status: 429, code: 'insufficient_quota' });
    expect(logs.find((line) => line.includes('status=200'))).toContain(`cost=${first.usage?.total_tokens}`);
  });

  it.each([false, true])('counts the tokens of a Responses API call (streamed: %s) from its usage', async (stream) => {
    const baseURL = await start({ tokensPerDay: 1 });
    const alice = new OpenAI({ apiKey: 'alice-key', baseURL, maxRetries: 0 });
    if (stream) {
      const events = await alice.responses.create({ model: 'gpt-4o', input: 'hi', stream: true });
      for await (const _event of events) {
        // to the end: response.completed carries the usage
      }
    } else {
      await alice.responses.create({ model: 'gpt-4o', input: 'hi' });
    }
    await expect(alice.responses.create({ model: 'gpt-4o', input: 'hi' })).rejects.toMatchObject({ status: 429, code: 'insufficient_quota' });
    expect(logs.find((line) => line.includes('route=responses') && line.includes('status=200'))).toMatch(/total_tokens=\d+/);
  });

  it("replaces Azure's resource-wide rate-limit figures with the key's, and leaves unlimited callers Azure's", async () => {
    const limited = await start({ tokensPerMinute: 100000 });
    const { response } = await new OpenAI({ apiKey: 'alice-key', baseURL: limited, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(response.headers.get('x-ratelimit-limit-tokens')).toBe('100000');
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBeNull();
    // One host at a time (afterEach closes the last one started).
    await host.close();
    const byRequests = await start({ requestsPerMinute: 50 });
    const second = await new OpenAI({ apiKey: 'alice-key', baseURL: byRequests, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(second.response.headers.get('x-ratelimit-remaining-requests')).toBe('49');
    expect(second.response.headers.get('x-ratelimit-remaining-tokens')).toBeNull();
  });
});

describe('one limit held by two instances through Table Storage (Azurite)', () => {
  let azurite: Azurite;
  const running: ProxyProcess[] = [];
  beforeAll(async () => {
    azurite = await Azurite.start();
  }, 30_000);
  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop()));
    await azurite.stop();
  });

  it('stays within the limit plus what the other instance admits in one exchange, and serves on through an outage', async () => {
    const env = { ...held({ requestsPerMinute: 20 }), PROXY_USAGE_TABLE_CONNECTION_STRING: azurite.connectionString, PROXY_USAGE_SYNC_SECONDS: '0.2' };
    const proxies = [runProxyProcess({ PORT: '0', ...env }), runProxyProcess({ PORT: '0', ...env })];
    running.push(...proxies);
    const clients = await Promise.all(proxies.map(async (p) => new OpenAI({ apiKey: 'alice-key', baseURL: await p.listening(), maxRetries: 0 })));
    // Let each see the key once and exchange, then alternate: each instance takes 10 requests a second.
    let admitted = 0;
    let refused = 0;
    for (let i = 0; i < 60; i++) {
      const outcome = await chat(clients[i % 2]!).then(
        () => 'ok',
        (e: unknown) => {
          if (e instanceof OpenAI.RateLimitError) return '429';
          throw e;
        },
      );
      if (outcome === 'ok') admitted++;
      else refused++;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // The bound (README): limit + (instances - 1) x one instance's rate x the exchange interval = 20 + 1 x 10/s x 0.2 s,
    // and a request or two more as the window slides on over the three seconds.
    expect(admitted).toBeGreaterThanOrEqual(20);
    expect(admitted).toBeLessThanOrEqual(20 + 2 + 2);
    expect(refused).toBe(60 - admitted);

    // The store goes away: both keep serving (and refusing) on their own counts, each warning once.
    await azurite.stop();
    await expect(chat(clients[0]!)).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    await proxies[0]!.outputContaining('Usage store unreachable', 1, 5000);
    const bob = new OpenAI({ apiKey: 'bob-key', baseURL: await proxies[0]!.listening(), maxRetries: 0 });
    await chat(bob);
    // It comes back empty: each instance's counts are written whole again, so nothing is lost.
    azurite = await azurite.restart();
    await proxies[0]!.outputContaining('Usage store answers again', 1, 5000);
    expect(proxies[0]!.output().split('Usage store unreachable').length - 1).toBe(1);
    // A third instance reads what the first two wrote back: alice is refused there too, after its first exchange.
    const third = runProxyProcess({ PORT: '0', ...env });
    running.push(third);
    const late = new OpenAI({ apiKey: 'alice-key', baseURL: await third.listening(), maxRetries: 0 });
    await chat(late).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 600));
    await expect(chat(late)).rejects.toBeInstanceOf(OpenAI.RateLimitError);
  }, 60_000);
});

describe('the usage ledger in Table Storage (Azurite), read by npm run usage', () => {
  it('holds each key\'s requests, tokens and 429s per model and deployment, written by every instance, and prints them', async () => {
    const azurite = await Azurite.start();
    try {
      const env = { ...held({ requestsPerMinute: 2 }), PROXY_USAGE_TABLE_CONNECTION_STRING: azurite.connectionString, PROXY_PRICES: JSON.stringify({ 'gpt-4o': { input: 2.5, output: 10 } }) };
      const proxies = [runProxyProcess({ PORT: '0', ...env }), runProxyProcess({ PORT: '0', ...env })];
      const [one, two] = await Promise.all(proxies.map((p) => p.listening()));
      const alice = new OpenAI({ apiKey: 'alice-key', baseURL: one, maxRetries: 0 });
      const bob = new OpenAI({ apiKey: 'bob-key', baseURL: two, maxRetries: 0 });
      let tokens = 0;
      for (const client of [alice, alice, bob]) tokens += (await chat(client)).usage?.total_tokens ?? 0;
      await expect(chat(alice)).rejects.toBeInstanceOf(OpenAI.RateLimitError);
      await new OpenAI({ apiKey: 'bob-key', baseURL: two, maxRetries: 0 }).embeddings.create({ model: 'text-embedding-3-small', input: 'hi' });
      // A stop writes what is left (SIGTERM: the proxy's close).
      await Promise.all(proxies.map((p) => p.stop()));

      const usage = await runCli(['--format', 'json'], { PROXY_USAGE_TABLE_CONNECTION_STRING: azurite.connectionString });
      expect(usage.code).toBe(0);
      const rows = JSON.parse(usage.output) as Array<Record<string, unknown>>;
      const today = new Date().toISOString().slice(0, 10);
      // A request refused for the key's own limit is refused before its body is read: its model is not known.
      expect(rows).toEqual([
        { period: today, key: 'env-1', model: '-', deployment: '-', requests: 1, prompt_tokens: 0, completion_tokens: 0, rate_limited: 1, cost: 0 },
        { period: today, key: 'env-1', model: 'gpt-4o', deployment: 'gpt-4o', requests: 2, prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number), rate_limited: 0, cost: expect.any(Number) },
        { period: today, key: 'env-2', model: 'gpt-4o', deployment: 'gpt-4o', requests: 1, prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number), rate_limited: 0, cost: expect.any(Number) },
        // No price for the embeddings model: no cost.
        { period: today, key: 'env-2', model: 'text-embedding-3-small', deployment: 'text-embedding-3-small', requests: 1, prompt_tokens: expect.any(Number), completion_tokens: 0, rate_limited: 0, cost: 0 },
      ]);
      for (const row of rows.filter((r) => r.model === 'gpt-4o')) {
        expect(row.cost).toBeCloseTo(((row.prompt_tokens as number) * 2.5 + (row.completion_tokens as number) * 10) / 1e6, 6);
      }
      const chatTokens = rows.filter((r) => r.model === 'gpt-4o').reduce((sum, r) => sum + (r.prompt_tokens as number) + (r.completion_tokens as number), 0);
      expect(chatTokens).toBe(tokens);

      const csv = await runCli(['--key', 'env-2', '--by', 'hour', '--format', 'csv'], { PROXY_USAGE_TABLE_CONNECTION_STRING: azurite.connectionString });
      expect(csv.output.trim().split('\n')).toHaveLength(3);
      expect(csv.output).toMatch(/^period,key,model,deployment,requests,prompt_tokens,completion_tokens,rate_limited,cost\n\d{4}-\d{2}-\d{2}T\d{2},env-2,gpt-4o,/);
      const none = await runCli([], {});
      expect(none).toEqual({ code: 2, output: expect.stringContaining('No usage store: set PROXY_USAGE_TABLE_ENDPOINT') });
    } finally {
      await azurite.stop();
    }
  }, 60_000);
});

/** `npm run usage` as a process (from the build). */
function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(__dirname, '..', '..', 'dist', 'src', 'cli', 'usage.js'), ...args], { env: childEnvironment(env) });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}
