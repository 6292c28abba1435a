/**
 * The package Azure runs (scripts/package.mjs): built here into a folder of its own, with no node_modules but its
 * stubs, and loaded by the stand-in Functions worker as Azure loads it. Every function must be indexed from it, it
 * must serve as the build does, and the SDKs it loads only when a setting uses them must load from it, working:
 * the identity library for Azure OpenAI, and the Azure Monitor exporter sending with an Entra token.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import OpenAI from 'openai';
import { CATCH_ALL_FUNCTION, FUNCTION_NAMES } from '../../src/core/routes/routes';
import { AzureOpenAIEmulator, EMULATOR_API_KEY } from '../../src/emulator/server';
import { TableClient } from '@azure/data-tables';
import { Azurite } from '../support/azurite';
import { startFunctionsStack } from '../support/functionsStack';
import { ManagedIdentityStandIn } from '../support/managedIdentityStandIn';
import { makeTestCertificate } from '../support/tls';

const ROOT = join(__dirname, '..', '..');
const MONITOR = 'https://monitor.azure.com';
const COGNITIVE_SERVICES = 'https://cognitiveservices.azure.com';

let folder: string;
let emulator: AzureOpenAIEmulator;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'proxy-package-'));
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'package.mjs'), folder], { stdio: 'pipe' });
  emulator = await AzureOpenAIEmulator.start();
}, 60_000);
afterAll(async () => {
  await emulator.close();
  rmSync(folder, { recursive: true, force: true });
});

describe('the package', () => {
  it('holds the bundled functions, the lazy SDK bundles with their stubs, host.json and a package.json without dependencies', () => {
    const files = filesUnder(folder);
    expect(files).toEqual(
      expect.arrayContaining(['functions.js', 'host.json', 'package.json', 'lazy/azure-sdk.js', 'lazy/telemetry.js', 'node_modules/@azure/identity/index.js']),
    );
    expect(files.length).toBeLessThanOrEqual(20);
    const bytes = files.reduce((sum, file) => sum + statSync(join(folder, file)).size, 0);
    // The budget is 5 MB zipped; unzipped it stays under that too, so any zip of it does.
    expect(bytes).toBeLessThan(5 * 1024 * 1024);
    const pkg = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg.main).toBe('functions.js');
    expect(pkg.dependencies).toBeUndefined();
    expect(readFileSync(join(folder, 'host.json'), 'utf8')).toBe(readFileSync(join(ROOT, 'host.json'), 'utf8'));
  });

  it('is indexed whole by the worker, and serves chat, plain and streamed, without loading an SDK it does not use', async () => {
    const stack = await startFunctionsStack({ AZURE_OPENAI_ENDPOINT: emulator.url }, { appDirectory: folder });
    try {
      expect(stack.host.loadError).toBeUndefined();
      expect(stack.host.functions.map((f) => f.name).sort()).toEqual([...FUNCTION_NAMES, CATCH_ALL_FUNCTION].sort());
      const client = new OpenAI({ apiKey: EMULATOR_API_KEY, baseURL: stack.baseURL, maxRetries: 0 });
      const completion = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] });
      expect(completion.choices[0]?.message.content).toBeTruthy();
      const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }], stream: true });
      let chunks = 0;
      for await (const _chunk of stream) chunks += 1;
      expect(chunks).toBeGreaterThan(1);
      const loaded = (await stack.host.sampleWorker()).modules.filter((file) => file.startsWith(folder)).map((file) => relative(folder, file));
      expect(loaded).toEqual(['functions.js']);
      expect(stack.host.appLoad.modules).toBeLessThanOrEqual(2);
    } finally {
      await stack.close();
    }
  });

  it('loads the identity library for managed identity, and the Monitor exporter, which sends with an Entra token', async () => {
    const identity = await ManagedIdentityStandIn.start();
    const azure = await AzureOpenAIEmulator.start({ apiKeys: [], acceptBearer: (token) => ManagedIdentityStandIn.isTokenFor(token, COGNITIVE_SERVICES) });
    const certificate = makeTestCertificate();
    const received: Array<{ authorization: string | undefined; body: string }> = [];
    const ingestion = createHttpsServer({ key: certificate.key, cert: certificate.cert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        received.push({ authorization: req.headers.authorization, body: (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString() });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ itemsReceived: 1, itemsAccepted: 1, errors: [] }));
      });
    });
    await new Promise<void>((resolve) => ingestion.listen(0, '127.0.0.1', resolve));
    const stack = await startFunctionsStack(
      {
        AZURE_OPENAI_ENDPOINT: azure.url,
        AZURE_OPENAI_AUTH: 'managed-identity',
        PROXY_API_KEYS: 'client-key',
        AZURE_CLIENT_ID: 'user-assigned-id',
        ...identity.environment(),
        APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=https://localhost:${(ingestion.address() as AddressInfo).port}/`,
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=user-assigned-id',
        APPLICATION_INSIGHTS_NO_STATSBEAT: 'true',
        APPLICATIONINSIGHTS_SDKSTATS_DISABLED: 'true',
        NODE_EXTRA_CA_CERTS: certificate.certPath,
      },
      { appDirectory: folder },
    );
    try {
      const client = new OpenAI({ apiKey: 'client-key', baseURL: stack.baseURL, maxRetries: 0 });
      await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] });
      const loaded = (await stack.host.sampleWorker()).modules.filter((file) => file.startsWith(folder)).map((file) => relative(folder, file));
      expect(loaded).toEqual(expect.arrayContaining(['functions.js', 'lazy/azure-sdk.js', 'lazy/telemetry.js']));
      expect(identity.requests.filter((r) => r.resource === COGNITIVE_SERVICES)).toEqual([{ resource: COGNITIVE_SERVICES, clientId: 'user-assigned-id' }]);
    } finally {
      // Stopping the worker runs the app's appTerminate hook, which sends the metrics still pending.
      await stack.close();
      await azure.close();
      ingestion.close();
    }
    await identity.close();
    expect(received.length).toBeGreaterThan(0);
    expect(received[0]?.body).toContain('openai_proxy_requests');
    expect(received.every((r) => r.authorization !== undefined && ManagedIdentityStandIn.isTokenFor(r.authorization.replace(/^Bearer /, ''), MONITOR))).toBe(true);
    expect(identity.requests.filter((r) => r.resource === MONITOR)).toEqual([{ resource: MONITOR, clientId: 'user-assigned-id' }]);
  }, 30_000);

  it('loads the Table Storage client for limits shared across instances, and holds a limit with it under the host', async () => {
    const azurite = await Azurite.start();
    const stack = await startFunctionsStack(
      {
        AZURE_OPENAI_ENDPOINT: emulator.url,
        AZURE_OPENAI_AUTH: 'key',
        AZURE_OPENAI_TOKEN: EMULATOR_API_KEY,
        PROXY_API_KEYS: 'client-key',
        PROXY_KEY_LIMITS: '{"requestsPerMinute": 2}',
        PROXY_USAGE_TABLE_CONNECTION_STRING: azurite.connectionString,
      },
      { appDirectory: folder },
    );
    try {
      const client = new OpenAI({ apiKey: 'client-key', baseURL: stack.baseURL, maxRetries: 0 });
      const ask = (): Promise<unknown> => client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] });
      await ask();
      await ask();
      await expect(ask()).rejects.toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
      const loaded = (await stack.host.sampleWorker()).modules.filter((file) => file.startsWith(folder)).map((file) => relative(folder, file));
      expect(loaded).toContain('lazy/azure-sdk.js');
      // The counts reach the table: a row for the key, from this worker.
      const rows = await listRows(azurite);
      expect(rows).toEqual([expect.objectContaining({ PartitionKey: 'env-1' })]);
    } finally {
      await stack.close();
      await azurite.stop();
    }
  }, 60_000);
});

/** The counts table's rows, read with the SDK the tests have (not the package's). */
async function listRows(azurite: Azurite): Promise<Array<Record<string, unknown>>> {
  const client = TableClient.fromConnectionString(azurite.connectionString, 'proxylimits', { allowInsecureConnection: true });
  for (let attempt = 0; attempt < 40; attempt++) {
    const rows: Array<Record<string, unknown>> = [];
    try {
      for await (const row of client.listEntities()) rows.push({ ...row, PartitionKey: row.partitionKey });
    } catch {
      // not created yet
    }
    if (rows.length > 0) return rows;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return [];
}
