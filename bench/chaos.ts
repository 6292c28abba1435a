/**
 * `npm run chaos`: the chaos test's scenarios (test/e2e/chaos.test.ts) for longer, at the failure rate the
 * hardening review saw (7%), on loopback in one process: the emulator failing at random (500s and resets), the
 * proxy behind the local host, and CHAOS_CLIENTS clients for CHAOS_SECONDS per scenario. It prints, for each, the
 * share of requests clients saw fail beside the share the backends failed, and how many the proxy refused itself.
 */
import { loadConfig } from '../src/core/config/config';
import { consoleLogger, type Logger } from '../src/core/logger';
import { createProxy } from '../src/core/proxy';
import { AzureOpenAIEmulator, EMULATOR_API_KEY } from '../src/emulator/server';
import { startLocalHost } from '../src/hosting/node/localHost';

const SECONDS = Number(process.env.CHAOS_SECONDS ?? 20);
const CLIENTS = Number(process.env.CHAOS_CLIENTS ?? 32);
const P = Number(process.env.CHAOS_RATE ?? 0.07);
// Request lines would be most of the run's work; warnings and errors still show.
const quiet: Logger = { info: () => undefined, warn: (m, f) => consoleLogger.warn(m, f), error: (m, f) => consoleLogger.error(m, f) };

interface Result {
  requests: number;
  failed: number;
  refused: number;
  attempts: number;
  backendFaults: number;
}

async function scenario(rates: readonly number[]): Promise<Result> {
  const emulators = await Promise.all(
    rates.map((rate, i) => AzureOpenAIEmulator.start({ deployments: [{ name: 'gpt-4o', model: 'gpt-4o-2024-08-06', kind: 'chat' }], faults: { rate, seed: 100 + i } })),
  );
  const pool = emulators.map((e) => `${e.url}/gpt-4o`).join('|');
  const proxy = createProxy(loadConfig({ AZURE_OPENAI_ENDPOINT: emulators[0]!.url, AZURE_OPENAI_MODEL_MAPPER: `pooled=${pool}` }), { logger: quiet });
  const host = await startLocalHost({ proxy });
  const result: Result = { requests: 0, failed: 0, refused: 0, attempts: 0, backendFaults: 0 };
  const until = Date.now() + SECONDS * 1000;
  const client = async (): Promise<void> => {
    while (Date.now() < until) {
      const response = await fetch(`${host.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${EMULATOR_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'pooled', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }),
      });
      await response.arrayBuffer();
      result.requests++;
      const attempts = Number(response.headers.get('x-proxy-attempts') ?? 0);
      result.attempts += attempts;
      if (response.status !== 200) result.failed++;
      if (response.status !== 200 && attempts === 0) result.refused++;
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  result.backendFaults = emulators.reduce((sum, e) => sum + e.faulted.errors + e.faulted.resets, 0);
  await host.close();
  await proxy.close();
  await Promise.all(emulators.map((e) => e.close()));
  return result;
}

async function main(): Promise<void> {
  const percent = (n: number): string => `${(n * 100).toFixed(2)}%`;
  const rows = [`Chaos, ${SECONDS} s each, ${CLIENTS} clients, backends failing at random (500s and resets)`];
  const scenarios: Array<[string, number[]]> = [
    [`one backend failing at ${percent(P)}`, [P]],
    [`three backends, each failing at ${percent(P)}`, [P, P, P]],
    ['three backends, two down, one healthy', [1, 0, 1]],
  ];
  for (const [name, rates] of scenarios) {
    const r = await scenario(rates);
    rows.push(
      `${name.padEnd(40)} | ${r.requests} requests (${(r.requests / SECONDS).toFixed(0)}/s) | clients saw ${percent(r.failed / r.requests)} fail | ` +
        `refused untried ${r.refused} | attempts per request ${(r.attempts / r.requests).toFixed(2)} | backends failed ${r.backendFaults}`,
    );
  }
  console.info(rows.join('\n'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
