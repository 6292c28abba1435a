import { MemoryCounterStore, SharedCounters } from '../../../src/core/limits/counters';
import { Limiter, type Figures, type QuotaAccount } from '../../../src/core/limits/limiter';
import { keyLimitsSchema, type KeyLimits } from '../../../src/core/limits/keyLimits';
import { formatReset, windowsAt } from '../../../src/core/limits/windows';
import { ProxyError } from '../../../src/core/errors/catalogue';
import type { Logger } from '../../../src/core/logger';
import { loadConfig, parseClientKey, parsePrice } from '../../../src/core/config/config';

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
/** 2026-11-28T10:00:00Z, the start of a minute. */
const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);

function limiterAt(clock: { now: number }, store = new MemoryCounterStore(), logger = quiet): { limiter: Limiter; counters: SharedCounters } {
  const counters = new SharedCounters(store, { logger, syncMs: 1000, now: () => clock.now });
  return { limiter: new Limiter(counters), counters };
}

function refusal(run: () => unknown): ProxyError {
  try {
    run();
  } catch (error) {
    if (error instanceof ProxyError) return error;
    throw error;
  }
  throw new Error('admitted');
}

const account = (limits: KeyLimits, key = 'alice'): QuotaAccount => ({ key, limits });

/** Admits a request (to a model, when named) and returns the figures it is answered with. */
function admitted(limiter: Limiter, quota: QuotaAccount, model?: string): Figures {
  if (model === undefined) limiter.admit(quota);
  else limiter.admitModel(quota, model);
  return limiter.figures(quota);
}

describe('requests per minute', () => {
  it('admits up to the limit, then answers OpenAI\'s 429 with when to retry, and admits again as the window slides', () => {
    const clock = { now: T0 + 30_000 };
    const { limiter } = limiterAt(clock);
    const alice = account({ requestsPerMinute: 3 });
    expect([1, 2, 3].map(() => admitted(limiter, alice).requests?.remaining)).toEqual([2, 1, 0]);
    const error = refusal(() => limiter.admit(alice));
    expect(error.status).toBe(429);
    expect(error.fields).toMatchObject({ code: 'rate_limit_exceeded', type: 'requests' });
    expect(error.fields.message).toContain('limit 3 per minute, used 3');
    const headers = new Headers(error.headers);
    expect(headers.get('x-ratelimit-limit-requests')).toBe('3');
    expect(headers.get('x-ratelimit-remaining-requests')).toBe('0');
    const waitMs = Number(headers.get('retry-after-ms'));
    // The three fade out over the next minute: one more fits once a third of it has gone, 30 + 20 s from now
    // (found in hundredths of a minute).
    expect(waitMs).toBe(50_400);
    clock.now += waitMs - 1000;
    expect(() => limiter.admit(alice)).toThrow(ProxyError);
    clock.now += 1000;
    expect(admitted(limiter, alice).requests?.remaining).toBe(0);
  });

  it('counts a model\'s own limits apart, on top of the key\'s', () => {
    const clock = { now: T0 };
    const { limiter } = limiterAt(clock);
    const limits: KeyLimits = { requestsPerMinute: 10, models: { 'gpt-4o': { requestsPerMinute: 1 } } };
    const first = account(limits);
    limiter.admit(first);
    expect(admitted(limiter, first, 'gpt-4o').requests).toEqual({ limit: 1, remaining: 0, resetMs: 120_000 });
    const second = account(limits);
    limiter.admit(second);
    const error = refusal(() => limiter.admitModel(second, 'gpt-4o'));
    expect(error.fields.message).toContain("this API key's use of the model 'gpt-4o'");
    const third = account(limits);
    limiter.admit(third);
    expect(admitted(limiter, third, 'gpt-4o-mini').requests?.remaining).toBe(7);
  });
});

describe('tokens', () => {
  it('admits on the tokens counted so far, refuses at the per-minute limit with type tokens', () => {
    const clock = { now: T0 };
    const { limiter } = limiterAt(clock);
    const alice = account({ tokensPerMinute: 1000 });
    limiter.admit(alice);
    limiter.record(alice, 999);
    expect(admitted(limiter, alice).tokens?.remaining).toBe(1);
    // Admitted below the limit, a request may pass it by its own tokens.
    limiter.record(alice, 500);
    const error = refusal(() => limiter.admit(alice));
    expect(error.fields).toMatchObject({ code: 'rate_limit_exceeded', type: 'tokens' });
    expect(new Headers(error.headers).get('x-ratelimit-remaining-tokens')).toBe('0');
  });

  it('refuses a spent day budget with insufficient_quota, not to be retried, until the UTC day ends', () => {
    const clock = { now: T0 };
    const { limiter } = limiterAt(clock);
    const alice = account({ tokensPerDay: 100, tokensPerMonth: 1000 });
    limiter.admit(alice);
    limiter.record(alice, 100);
    const error = refusal(() => limiter.admit(alice));
    expect(error.fields).toMatchObject({ code: 'insufficient_quota', type: 'insufficient_quota' });
    const headers = new Headers(error.headers);
    expect(headers.get('x-should-retry')).toBe('false');
    expect(headers.get('retry-after')).toBe(String(14 * 3600));
    expect(headers.get('x-ratelimit-reset-tokens')).toBe('14h0m0s');
    clock.now = Date.UTC(2026, 10, 29, 0, 0, 1);
    // The month's budget still has 900: the tighter figure is the day's, fresh.
    expect(admitted(limiter, alice).tokens).toMatchObject({ limit: 100, remaining: 100 });
  });
});

describe('budgets in money', () => {
  it('refuses a key whose day budget is spent, counting each request\'s cost', () => {
    const clock = { now: T0 };
    const { limiter } = limiterAt(clock);
    const alice = account({ costPerDay: 1 });
    limiter.admit(alice);
    limiter.record(alice, 100, 0.6);
    limiter.admit(alice);
    limiter.record(alice, 100, 0.6);
    const error = refusal(() => limiter.admit(alice));
    expect(error.fields).toMatchObject({ code: 'insufficient_quota' });
    expect(error.fields.message).toContain("a budget of 1 (in the prices' currency) per day (UTC) and has used 1.2000");
  });

  it('reads prices from PROXY_PRICES and App Configuration, per million tokens', () => {
    const env = { AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com' };
    expect([...loadConfig({ ...env, PROXY_PRICES: '{"gpt-4o": {"input": 2.5, "output": 10}}' }).prices]).toEqual([['gpt-4o', { input: 2.5, output: 10 }]]);
    expect(() => loadConfig({ ...env, PROXY_PRICES: '{"gpt-4o": {"input": -1, "output": 10}}' })).toThrow('PROXY_PRICES: "{\\"gpt-4o\\": {\\"input\\": -1, \\"output\\": 10}}" gpt-4o.input: must be 0 or more');
    expect(parsePrice('{"input": 0.15, "output": 0.6}')).toEqual({ input: 0.15, output: 0.6 });
    expect(() => parsePrice({ input: 1 })).toThrow('output');
  });
});

describe('counts shared across processes', () => {
  it('sees the other writers\' counts after an exchange, and keeps its own through an outage, catching up after', async () => {
    const clock = { now: T0 };
    const store = new MemoryCounterStore();
    const warnings: string[] = [];
    const logger: Logger = { ...quiet, warn: (message) => warnings.push(message) };
    const a = limiterAt(clock, store, logger);
    const b = limiterAt(clock, store, logger);
    const limits: KeyLimits = { requestsPerMinute: 4 };
    a.limiter.admit(account(limits));
    a.limiter.admit(account(limits));
    b.limiter.admit(account(limits));
    await a.counters.sync();
    await b.counters.sync();
    expect(b.limiter.figures(account(limits)).requests?.remaining).toBe(1);
    store.failure = new Error('connect ECONNREFUSED');
    a.limiter.admit(account(limits));
    await a.counters.sync();
    await a.counters.sync();
    expect(warnings).toEqual(["Usage store unreachable: limits are held on this instance's counts until it answers"]);
    expect(a.limiter.figures(account(limits)).requests?.remaining).toBe(0);
    store.failure = undefined;
    await a.counters.sync();
    await b.counters.sync();
    expect(() => b.limiter.admit(account(limits))).toThrow(ProxyError);
  });
});

describe('limit settings', () => {
  it('takes whole numbers above 0, by name, per model too; anything else is refused with where it is', () => {
    expect(keyLimitsSchema().parse({ requestsPerMinute: 60, models: { 'gpt-4o': { tokensPerDay: 5 } } })).toEqual({ requestsPerMinute: 60, models: { 'gpt-4o': { tokensPerDay: 5 } } });
    expect(keyLimitsSchema().safeParse({ rpm: 60 }).success).toBe(false);
    expect(keyLimitsSchema().safeParse({ models: { 'gpt-4o': { tokensPerDay: 0 } } }).success).toBe(false);
  });

  it('gives PROXY_KEY_LIMITS to the environment\'s keys and anonymous callers, and a store key its own', () => {
    const env = { AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com', AZURE_OPENAI_AUTH: 'key', AZURE_OPENAI_TOKEN: 't', PROXY_API_KEYS: 'a' };
    expect(loadConfig({ ...env, PROXY_KEY_LIMITS: '{"requestsPerMinute": 5}' }).clientKeys[0]?.limits).toEqual({ requestsPerMinute: 5 });
    expect(() => loadConfig({ ...env, PROXY_KEY_LIMITS: '{"requestsPerMinute": 0, "models": {"gpt-4o": {"tpm": 1}}}' })).toThrow(
      /PROXY_KEY_LIMITS: "\{.*\}" requestsPerMinute: must be above 0; models\.gpt-4o: Unrecognized key: "tpm" \(e\.g\. \{"requestsPerMinute": 60/,
    );
    expect(() => loadConfig({ ...env, PROXY_KEY_LIMITS: 'sixty' })).toThrow('PROXY_KEY_LIMITS: "sixty" is not JSON');
    const stored = parseClientKey('bob', { sha256: 'a'.repeat(64), limits: { tokensPerMonth: 1000 } });
    expect(stored.limits).toEqual({ tokensPerMonth: 1000 });
    expect(() => parseClientKey('bob', { sha256: 'a'.repeat(64), limits: { tokensPerMonth: -1 } })).toThrow('limits.tokensPerMonth: must be above 0');
  });

  it('writes waits as OpenAI does, and knows its windows', () => {
    expect([20, 1000, 360_000, 18_723_000].map(formatReset)).toEqual(['20ms', '1s', '6m0s', '5h12m3s']);
    const windows = windowsAt(Date.UTC(2026, 0, 31, 23, 59, 30));
    expect(windows).toMatchObject({ day: 'd2026-01-31', month: 'M2026-01', minuteElapsed: 0.5, msToDayEnd: 30_000, msToMonthEnd: 30_000 });
  });
});
