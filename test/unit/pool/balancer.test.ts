import { Balancer, retryAfterMs } from '../../../src/core/pool/balancer';
import { loadConfig, parseModelTarget, StoreValueError } from '../../../src/core/config/config';
import type { Backend } from '../../../src/core/config/modelMap';

const ENDPOINT = 'https://main.openai.azure.com';
const routing = loadConfig({ AZURE_OPENAI_ENDPOINT: ENDPOINT }).routing;
const backend = (deployment: string, priority = 1, weight = 1): Backend => ({ deployment, priority, weight });

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function pick(balancer: Balancer, backends: Backend[], tried: Set<Backend> = new Set()): string {
  const choice = balancer.choose(backends, tried, ENDPOINT, routing);
  return choice.kind === 'backend' ? choice.backend.deployment : `none:${choice.waitMs}:${choice.coolingDown}`;
}

describe('Balancer', () => {
  it('spreads by weight in a smooth, repeating order', () => {
    const balancer = new Balancer();
    const pool = [backend('a', 1, 5), backend('b', 1, 1), backend('c', 1, 1)];
    const picks = Array.from({ length: 14 }, () => pick(balancer, pool));
    expect(picks.slice(0, 7)).toEqual(['a', 'a', 'b', 'a', 'c', 'a', 'a']);
    expect(picks.slice(7)).toEqual(picks.slice(0, 7));
  });

  it('cools a rate-limited backend for its retry-after, capped, then takes it back', () => {
    const time = clock();
    const balancer = new Balancer(time.now);
    const [a, b] = [backend('a', 1), backend('b', 2)];
    balancer.report(a, { kind: 'rate-limited', retryAfterMs: 2000 }, routing, ENDPOINT);
    expect(pick(balancer, [a, b])).toBe('b');
    time.advance(2000);
    expect(pick(balancer, [a, b])).toBe('a');
    balancer.report(a, { kind: 'rate-limited', retryAfterMs: 10 * 60_000 }, routing, ENDPOINT);
    time.advance(routing.cooldownMaxMs);
    expect(pick(balancer, [a, b])).toBe('a');
  });

  it('sets a failing backend aside only on a failure rate over a minimum volume, not on a streak', () => {
    const time = clock();
    const balancer = new Balancer(time.now);
    const [a, b] = [backend('a', 1), backend('b', 2)];
    // 7% of failures, in bursts of three in a row among successes, over a minute: never set aside.
    for (let i = 0; i < 600; i++) {
      time.advance(100);
      balancer.report(a, i % 43 < 3 ? { kind: 'failure' } : { kind: 'success' }, routing, ENDPOINT);
      expect(pick(balancer, [a, b])).toBe('a');
    }
    // Failing outright: set aside once the failures are most of the window's attempts, and b takes the traffic.
    for (let i = 0; i < 20; i++) {
      time.advance(100);
      balancer.report(a, { kind: 'failure' }, routing, ENDPOINT);
    }
    expect(pick(balancer, [a, b])).toBe('a');
    time.advance(10_000);
    for (let i = 0; i < routing.circuitFailures - 1; i++) balancer.report(a, { kind: 'failure' }, routing, ENDPOINT);
    expect(pick(balancer, [a, b])).toBe('a');
    balancer.report(a, { kind: 'failure' }, routing, ENDPOINT);
    expect(pick(balancer, [a, b])).toBe('b');
  });

  it('never sets aside the last backends a request could use: a circuit steers, it does not refuse', () => {
    const time = clock();
    const balancer = new Balancer(time.now);
    const [a, b] = [backend('a'), backend('b')];
    for (let i = 0; i < routing.circuitFailures; i++) {
      balancer.report(a, { kind: 'failure' }, routing, ENDPOINT);
      balancer.report(b, { kind: 'failure' }, routing, ENDPOINT);
    }
    expect(pick(balancer, [a])).toBe('a');
    expect(['a', 'b']).toContain(pick(balancer, [a, b]));
    expect(pick(balancer, [a, b], new Set([a]))).toBe('b');
    // A 429 still sets its backend aside, with its wait: Azure's quota is per deployment and says when to return.
    balancer.report(a, { kind: 'rate-limited', retryAfterMs: 2000 }, routing, ENDPOINT);
    expect(pick(balancer, [a])).toBe('none:2000:true');
  });

  it('half-opens after its time with one probe at a time: a success closes it, a failure opens it again', () => {
    const time = clock();
    const balancer = new Balancer(time.now);
    const [a, b] = [backend('a', 1), backend('b', 2)];
    for (let i = 0; i < routing.circuitFailures; i++) balancer.report(a, { kind: 'failure' }, routing, ENDPOINT);
    expect(pick(balancer, [a, b])).toBe('b');
    time.advance(routing.circuitOpenMs);
    expect(pick(balancer, [a, b])).toBe('a'); // the probe
    expect(pick(balancer, [a, b])).toBe('b'); // while it is out, the rest go elsewhere
    balancer.report(a, { kind: 'failure' }, routing, ENDPOINT);
    expect(pick(balancer, [a, b])).toBe('b');
    time.advance(routing.circuitOpenMs);
    expect(pick(balancer, [a, b])).toBe('a');
    balancer.report(a, { kind: 'success' }, routing, ENDPOINT);
    expect([pick(balancer, [a, b]), pick(balancer, [a, b])]).toEqual(['a', 'a']);
  });

  it('says how long until the first backend is back, and whether they are rate limited', () => {
    const time = clock();
    const balancer = new Balancer(time.now);
    const [a, b] = [backend('a'), backend('b')];
    balancer.report(a, { kind: 'rate-limited', retryAfterMs: 3000 }, routing, ENDPOINT);
    balancer.report(b, { kind: 'rate-limited', retryAfterMs: 1200 }, routing, ENDPOINT);
    expect(pick(balancer, [a, b])).toBe('none:1200:true');
    expect(pick(balancer, [a, b], new Set([a, b]))).toBe('none:0:false');
  });
});

describe('retryAfterMs', () => {
  it('prefers retry-after-ms, then retry-after in seconds or as a date', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '1500', 'retry-after': '9' }))).toBe(1500);
    expect(retryAfterMs(new Headers({ 'retry-after': '3' }))).toBe(3000);
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(10_000).toUTCString() }), 4000)).toBe(6000);
    expect(retryAfterMs(new Headers())).toBeUndefined();
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
  });
});

describe('parseModelTarget (App Configuration values)', () => {
  it('reads a name, one backend, or a pool', () => {
    expect(parseModelTarget('prod-4o')).toEqual({ backends: [backend('prod-4o')] });
    expect(parseModelTarget({ deployment: 'd', endpoint: 'https://we.openai.azure.com/', priority: 2 })).toEqual({
      backends: [{ deployment: 'd', endpoint: 'https://we.openai.azure.com', priority: 2, weight: 1 }],
    });
    const pool = '[{"deployment":"ptu","priority":0},{"deployment":"paygo","weight":2,"auth":"managed-identity"}]';
    expect(parseModelTarget(pool).backends).toEqual([backend('ptu', 0), { deployment: 'paygo', priority: 1, weight: 2, auth: 'managed-identity' }]);
    expect(parseModelTarget({ backends: [{ deployment: 'x' }] }).backends).toEqual([backend('x')]);
  });

  it('names what is wrong, and in which backend', () => {
    expect(() => parseModelTarget('[]')).toThrow(StoreValueError);
    expect(() => parseModelTarget({ backends: [{ deployment: 'ok' }, { deployment: 'no/way' }] })).toThrow('backend 2: deployment "no/way" is not a valid');
    expect(() => parseModelTarget({ deployment: 'd', region: 'eu' })).toThrow(StoreValueError);
    expect(() => parseModelTarget('{"deployment":')).toThrow('is not valid JSON');
  });
});

describe('pool settings', () => {
  it('reads backend keys from the app settings they name, and refuses what cannot work', () => {
    const env = { AZURE_OPENAI_ENDPOINT: ENDPOINT, AZURE_OPENAI_TOKEN: 'main-key', PROXY_API_KEYS: 'c' };
    const config = loadConfig({ ...env, AZURE_OPENAI_MODEL_MAPPER: 'm=a|https://we.openai.azure.com/b?key-setting=AZURE_OPENAI_KEY_WE', AZURE_OPENAI_KEY_WE: 'we-key' });
    expect(config.azure.backendKeys.get('AZURE_OPENAI_KEY_WE')).toBe('we-key');
    expect(() => loadConfig({ ...env, AZURE_OPENAI_MODEL_MAPPER: 'm=a?key-setting=AZURE_OPENAI_KEY_MISSING' })).toThrow('its key setting AZURE_OPENAI_KEY_MISSING is not set');
    // Only the dedicated family: no other setting (a connection string, say) can be sent as a key.
    expect(() => loadConfig({ ...env, AZURE_OPENAI_MODEL_MAPPER: 'm=a?key-setting=AZURE_APPCONFIG_CONNECTION_STRING' })).toThrow('must name an app setting of the form AZURE_OPENAI_KEY_<NAME>');
    expect(() => loadConfig({ AZURE_OPENAI_ENDPOINT: ENDPOINT, AZURE_OPENAI_MODEL_MAPPER: 'm=a?auth=managed-identity' })).toThrow(
      'holds a credential, so the proxy must check its callers',
    );
    expect(() => loadConfig({ ...env, AZURE_OPENAI_MODEL_MAPPER: 'm=a?api-version=v1' })).toThrow('apiVersion "v1" does not fit');
  });
});
