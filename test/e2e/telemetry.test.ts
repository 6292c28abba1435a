/**
 * One structured log line per request, with token usage for plain and streaming calls, and the same records as
 * metrics: through an in-memory exporter, and through the real Azure Monitor exporter to a local ingestion
 * endpoint (what APPLICATIONINSIGHTS_CONNECTION_STRING points at in Azure).
 */
import { spawn } from 'node:child_process';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Attributes } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter } from '@opentelemetry/sdk-metrics';
import OpenAI from 'openai';
import { loadConfig } from '../../src/core/config/config';
import { createProxy } from '../../src/core/proxy';
import { createMetrics, METRIC_NAMES } from '../../src/adapters/azure/monitorMetrics';
import { AzureOpenAIEmulator, EMULATOR_API_KEY } from '../../src/emulator/server';
import { startLocalHost } from '../../src/hosting/node/localHost';
import { capturingLogger } from '../support/stack';
import { makeTestCertificate } from '../support/tls';

const CLIENT_KEY = 'client-key-for-telemetry';
const TELEMETRY_BUILD = join(__dirname, '..', '..', 'dist', 'src', 'adapters', 'azure', 'monitorMetrics.js');

let emulator: AzureOpenAIEmulator;
beforeAll(async () => {
  emulator = await AzureOpenAIEmulator.start();
});
afterAll(() => emulator.close());

async function proxyWith(metrics?: ReturnType<typeof createMetrics>) {
  const logs: string[] = [];
  const proxy = createProxy(
    loadConfig({ AZURE_OPENAI_ENDPOINT: emulator.url, AZURE_OPENAI_TOKEN: EMULATOR_API_KEY, PROXY_API_KEYS: CLIENT_KEY }),
    { logger: capturingLogger(logs), ...(metrics !== undefined && { metrics }) },
  );
  const host = await startLocalHost({ proxy });
  const client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: `${host.url}/v1`, maxRetries: 0 });
  return { proxy, host, logs, client, close: async () => { await host.close(); await proxy.close(); } };
}

/** The log line of one request, as its fields. */
function lineOf(logs: string[], requestId: string): Record<string, string> {
  const line = logs.find((l) => l.includes(`request_id=${requestId}`));
  if (line === undefined) throw new Error(`no log line for ${requestId}:\n${logs.join('\n')}`);
  return Object.fromEntries([...line.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')]));
}

describe('the request log line', () => {
  it('has the ids, client name, model, deployment, backend, status, attempts, times and tokens of a plain call', async () => {
    const running = await proxyWith();
    try {
      const { data, response } = await running.client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'count me' }] }).withResponse();
      const line = lineOf(running.logs, response.headers.get('x-proxy-request-id')!);
      expect(line).toMatchObject({
        client: 'env-1',
        model: 'gpt-4o',
        deployment: 'gpt-4o',
        backend: `gpt-4o@${new URL(emulator.url).host}`,
        status: '200',
        attempts: '1',
        upstream_request_id: response.headers.get('apim-request-id'),
        prompt_tokens: String(data.usage?.prompt_tokens),
        completion_tokens: String(data.usage?.completion_tokens),
        total_tokens: String(data.usage?.total_tokens),
      });
      expect(Number(line.ttfb_ms)).toBeLessThanOrEqual(Number(line.ms));
    } finally {
      await running.close();
    }
  });

  it('has the tokens of a stream whose caller did not ask for usage, and that caller gets no usage chunk', async () => {
    const running = await proxyWith();
    try {
      const { data: stream, response } = await running.client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'stream me' }], stream: true }).withResponse();
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      expect(chunks.every((c) => c.choices.length > 0)).toBe(true);
      expect(JSON.parse(emulator.requests.at(-1)!.body)).toMatchObject({ stream: true, stream_options: { include_usage: true } });
      const line = lineOf(running.logs, response.headers.get('x-proxy-request-id')!);
      expect(Number(line.prompt_tokens)).toBeGreaterThan(0);
      expect(Number(line.total_tokens)).toBe(Number(line.prompt_tokens) + Number(line.completion_tokens));
    } finally {
      await running.close();
    }
  });

  it('has the tokens of a stream whose caller asked for usage, and that caller gets its usage chunk', async () => {
    const running = await proxyWith();
    try {
      const { data: stream, response } = await running.client.chat.completions
        .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'stream me' }], stream: true, stream_options: { include_usage: true } })
        .withResponse();
      let usage: OpenAI.CompletionUsage | null | undefined;
      for await (const chunk of stream) usage = chunk.usage ?? usage;
      const line = lineOf(running.logs, response.headers.get('x-proxy-request-id')!);
      expect(line.total_tokens).toBe(String(usage?.total_tokens));
    } finally {
      await running.close();
    }
  });

  it('has the tokens of a Responses API stream', async () => {
    const running = await proxyWith();
    try {
      const { data: stream, response } = await running.client.responses.create({ model: 'gpt-4o', input: 'hello', stream: true }).withResponse();
      let total: number | undefined;
      for await (const event of stream) if (event.type === 'response.completed') total = event.response.usage?.total_tokens;
      expect(lineOf(running.logs, response.headers.get('x-proxy-request-id')!).total_tokens).toBe(String(total));
    } finally {
      await running.close();
    }
  });
});

describe('metrics', () => {
  it('counts requests, times and tokens by model and deployment', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const running = await proxyWith(createMetrics(undefined, { exporter, exportIntervalMs: 60_000 }));
    try {
      for (let i = 0; i < 3; i++) await running.client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'a b c' }] });
      await running.client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' });
    } finally {
      await running.close(); // flushes the metrics
    }
    const metrics = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
    const byName = (name: string): Array<{ attributes: Attributes; value: unknown }> =>
      metrics.filter((m) => m.descriptor.name === name).flatMap((m) => m.dataPoints as Array<{ attributes: Attributes; value: unknown }>);
    const requests = byName(METRIC_NAMES.requests);
    expect(requests.find((p) => p.attributes.model === 'gpt-4o' && p.attributes.status === '200')?.value).toBe(3);
    expect(requests.find((p) => p.attributes.deployment === 'text-embedding-3-small')?.value).toBe(1);
    const prompt = byName(METRIC_NAMES.tokens).find((p) => p.attributes.model === 'gpt-4o' && p.attributes.kind === 'prompt');
    expect(prompt?.value).toBeGreaterThan(0);
    expect(byName(METRIC_NAMES.duration).length).toBeGreaterThan(0);
    expect(byName(METRIC_NAMES.ttfb).length).toBeGreaterThan(0);
  });

  it('reach Application Insights through the Azure Monitor exporter', async () => {
    const received: Array<{ url: string | undefined; body: unknown }> = [];
    // The exporter sends over https only: the ingestion endpoint gets a certificate the exporter's process trusts.
    const certificate = makeTestCertificate();
    const ingestion = createHttpsServer({ key: certificate.key, cert: certificate.cert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString() : raw.toString();
        received.push({ url: req.url, body: JSON.parse(text) as unknown });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ itemsReceived: 1, itemsAccepted: 1, errors: [] }));
      });
    });
    await new Promise<void>((resolve) => ingestion.listen(0, '127.0.0.1', resolve));
    const port = (ingestion.address() as AddressInfo).port;
    // The exporter loads part of itself with a dynamic import(), which Jest's module sandbox refuses, so it runs
    // in a plain Node process, from the build (npm test builds first).
    const script = `
      const { createMetrics } = require(${JSON.stringify(TELEMETRY_BUILD)});
      const metrics = createMetrics(process.env.APPLICATIONINSIGHTS_CONNECTION_STRING, { exportIntervalMs: 60000 });
      metrics.record({ request_id: 'r1', method: 'POST', path: '/v1/chat/completions', status: 200, ms: 12, ttfb_ms: 3,
        route: 'chatCompletions', model: 'gpt-4o', deployment: 'gpt-4o', backend: 'gpt-4o@example', client: 'alice',
        prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 });
      metrics.shutdown().then(() => process.exit(0), (error) => { console.error(error); process.exit(1); });`;
    const child = spawn(process.execPath, ['-e', script], {
      env: {
        PATH: process.env.PATH,
        NODE_EXTRA_CA_CERTS: certificate.certPath,
        APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=https://localhost:${port}/`,
        // The exporter's own usage reports ("statsbeat") go to a public Azure host: never from a test.
        APPLICATION_INSIGHTS_NO_STATSBEAT: 'true',
        APPLICATIONINSIGHTS_SDKSTATS_DISABLED: 'true',
      },
    });
    let output = '';
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    try {
      expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(0);
    } finally {
      ingestion.close();
    }
    const sent = JSON.stringify(received);
    expect(received.length).toBeGreaterThan(0);
    expect(received[0]?.url).toBe('/v2.1/track');
    for (const name of Object.values(METRIC_NAMES)) expect(sent).toContain(name);
    expect(sent).toContain('"deployment":"gpt-4o"');
    expect(output).toBe('');
  });
});
