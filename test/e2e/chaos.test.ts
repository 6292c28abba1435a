/**
 * Chaos: backends that fail at random, under concurrent load, through the proxy's pool and circuit. What a client
 * sees must follow what the backends do: a single backend failing at rate p costs clients about p, never an
 * outage; with any one backend of a pool healthy, clients see next to no failures. (A streak-based circuit failed
 * 78.5% of requests at p = 7%, and refused everything in a three-backend pool.) Bounded: a few hundred requests.
 */
import { AzureOpenAIEmulator, EMULATOR_API_KEY } from '../../src/emulator/server';
import { startProxy, type RunningProxy } from '../support/stack';

const REQUESTS = 600;
const CONCURRENCY = 16;
// Higher than the 7% the issue saw, so that the few seconds here hold the streaks its longer run met.
const P = 0.2;

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
});

async function failingEmulator(rate: number, seed: number): Promise<AzureOpenAIEmulator> {
  const emulator = await AzureOpenAIEmulator.start({ deployments: [{ name: 'gpt-4o', model: 'gpt-4o-2024-08-06', kind: 'chat' }], faults: { rate, seed } });
  running.push(emulator);
  return emulator;
}

async function proxyFor(pool: string): Promise<RunningProxy> {
  const first = /^(http:\/\/[^/]+)/.exec(pool)?.[1] ?? 'http://127.0.0.1:9';
  // Three failures, the old streak's default: a rate over a volume must not trip where a streak did.
  const proxy = await startProxy({ AZURE_OPENAI_ENDPOINT: first, AZURE_OPENAI_MODEL_MAPPER: `pooled=${pool}`, PROXY_CIRCUIT_FAILURES: '3' });
  running.push(proxy);
  return proxy;
}

interface Tally {
  ok: number;
  failed: number;
  codes: Map<string, number>;
  attempts: number;
}

/** REQUESTS chat completions, CONCURRENCY at a time. */
async function load(proxy: RunningProxy): Promise<Tally> {
  const tally: Tally = { ok: 0, failed: 0, codes: new Map(), attempts: 0 };
  let next = 0;
  const client = async (): Promise<void> => {
    while (next < REQUESTS) {
      next++;
      const response = await fetch(`${proxy.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${EMULATOR_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'pooled', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }),
      });
      const body = (await response.json()) as { error?: { code?: string } };
      tally.attempts += Number(response.headers.get('x-proxy-attempts') ?? 0);
      if (response.status === 200) tally.ok++;
      else {
        tally.failed++;
        const code = `${response.status} ${body.error?.code ?? ''}`;
        tally.codes.set(code, (tally.codes.get(code) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  return tally;
}

describe('chaos: backends failing at random under load', () => {
  it('a single backend failing at rate p costs clients about p, and the proxy never refuses on its own', async () => {
    const azure = await failingEmulator(P, 7);
    const tally = await load(await proxyFor(`${azure.url}/gpt-4o`));
    expect(tally.failed / REQUESTS).toBeLessThan(P * 1.3);
    expect([...tally.codes.keys()].filter((code) => !code.startsWith('500') && !code.startsWith('502'))).toEqual([]);
    // Every failure the client saw is one the backend made: no request was refused untried.
    expect(azure.faulted.errors + azure.faulted.resets).toBeGreaterThanOrEqual(tally.failed);
  }, 30_000);

  it('a pool of three failing at rate p each: failover makes it rarer than p, and nothing is refused', async () => {
    const [a, b, c] = await Promise.all([failingEmulator(P, 11), failingEmulator(P, 12), failingEmulator(P, 13)]);
    const tally = await load(await proxyFor(`${a.url}/gpt-4o|${b.url}/gpt-4o|${c.url}/gpt-4o`));
    expect(tally.failed / REQUESTS).toBeLessThan(P / 4);
    expect(tally.codes.get('503 backends_unavailable') ?? 0).toBe(0);
  }, 30_000);

  it('with one backend of three healthy, clients see next to no failures, and the failing ones are set aside', async () => {
    const healthy = await failingEmulator(0, 1);
    const [down1, down2] = await Promise.all([failingEmulator(1, 2), failingEmulator(1, 3)]);
    const tally = await load(await proxyFor(`${down1.url}/gpt-4o|${healthy.url}/gpt-4o|${down2.url}/gpt-4o`));
    expect(tally.failed).toBe(0);
    // Set aside after the first failures: most requests go straight to the healthy one.
    expect(tally.attempts / REQUESTS).toBeLessThan(1.2);
    expect(down1.requests.length + down2.requests.length).toBeLessThan(REQUESTS / 5);
  }, 30_000);
});
