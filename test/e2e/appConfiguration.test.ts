/**
 * The model map and settings from Azure App Configuration, read by the real SDK from a local stand-in that
 * checks every request's HMAC signature: hot reload, refused values, store failures, labels and client keys.
 */
import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import { AppConfigurationUnavailableError } from '../../src/core/config/storeSource';
import type { Environment } from '../../src/core/config/config';
import { createProxyFromEnvironment } from '../../src/hosting/compose';
import type { OpenAIProxy } from '../../src/core/proxy';
import { AzureOpenAIEmulator, EMULATOR_API_KEY } from '../../src/emulator/server';
import { startLocalHost, type LocalHost } from '../../src/hosting/node/localHost';
import { AppConfigurationStandIn } from '../support/appConfigurationStandIn';
import { capturingLogger, waitFor } from '../support/stack';

const CREDENTIAL = { id: 'test-store-id', secret: Buffer.from('the secret the store signs with').toString('base64') };
const PREFIX = 'openai-proxy:';
const hex = (key: string): string => createHash('sha256').update(key).digest('hex');

interface Running {
  proxy: OpenAIProxy;
  host: LocalHost;
  logs: string[];
  client(apiKey?: string): OpenAI;
  close(): Promise<void>;
}

let emulator: AzureOpenAIEmulator;
let store: AppConfigurationStandIn;

beforeAll(async () => {
  emulator = await AzureOpenAIEmulator.start();
  store = await AppConfigurationStandIn.start({ credential: CREDENTIAL });
});
afterAll(async () => {
  await store.close();
  await emulator.close();
});

async function run(env: Environment): Promise<Running> {
  const logs: string[] = [];
  const proxy = await createProxyFromEnvironment(
    { AZURE_OPENAI_ENDPOINT: emulator.url, AZURE_APPCONFIG_CONNECTION_STRING: store.connectionString(), AZURE_APPCONFIG_REFRESH_SECONDS: '1', ...env },
    { logger: capturingLogger(logs) },
  );
  const host = await startLocalHost({ proxy });
  return {
    proxy,
    host,
    logs,
    client: (apiKey = EMULATOR_API_KEY) => new OpenAI({ apiKey, baseURL: `${host.url}/v1`, maxRetries: 0 }),
    close: async () => {
      await host.close();
      await proxy.close();
    },
  };
}

async function deploymentUsedFor(client: OpenAI, model: string): Promise<string | undefined> {
  await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] });
  return /^\/openai\/deployments\/([^/]+)\//.exec(emulator.requests.at(-1)!.path)?.[1];
}

/** Waits until `check` passes, as a refresh of at most the interval (1 s here) should make it. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > 4000) throw new Error(`not within the refresh interval: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the model map from App Configuration', () => {
  let running: Running;
  beforeAll(async () => {
    store.set(`${PREFIX}model-map/fast`, 'gpt-4o-mini');
    store.set(`${PREFIX}model-map/smart`, JSON.stringify({ deployment: 'gpt-4.1' }), { contentType: 'application/json' });
    store.set('other-app:model-map/fast', 'not-ours');
    running = await run({ AZURE_OPENAI_MODEL_MAPPER: 'fast=gpt-4o,legacy=gpt-35-turbo' });
  });
  afterAll(() => running.close());

  it('maps models from the store over the environment, reading only the proxy prefix', async () => {
    const client = running.client();
    expect(await deploymentUsedFor(client, 'fast')).toBe('gpt-4o-mini');
    expect(await deploymentUsedFor(client, 'smart')).toBe('gpt-4.1');
    expect(await deploymentUsedFor(client, 'legacy')).toBe('gpt-35-turbo');
    expect((await client.models.list()).data.map((m) => m.id).sort()).toEqual(['fast', 'legacy', 'smart']);
  });

  it('signed every request it sent to the store', () => {
    expect(store.requests.length).toBeGreaterThan(0);
    expect(store.requests.every((r) => r.auth === 'hmac')).toBe(true);
  });

  it('takes a change within the refresh interval, without a restart', async () => {
    store.set(`${PREFIX}model-map/fast`, JSON.stringify({ deployment: 'gpt-4o', apiVersion: '2024-06-01' }), { contentType: 'application/json' });
    await eventually(async () => (await deploymentUsedFor(running.client(), 'fast')) === 'gpt-4o', 'the new deployment of fast');
    expect(emulator.requests.at(-1)?.query['api-version']).toBe('2024-06-01');
  });

  it('refuses a bad value, naming its key, and keeps the last good one', async () => {
    const before = store.requests.length;
    store.set(`${PREFIX}model-map/fast`, 'not/a/deployment');
    await waitFor(() => running.logs.some((line) => line.includes('App Configuration value refused')), 4000, 'the refusal warning');
    expect(store.requests.length).toBeGreaterThan(before);
    const warning = running.logs.find((line) => line.includes('App Configuration value refused'))!;
    expect(warning).toContain(`key=${PREFIX}model-map/fast`);
    expect(warning).toContain('kept=true');
    expect(await deploymentUsedFor(running.client(), 'fast')).toBe('gpt-4o');
  });

  it('keeps the last good map when the store fails, warning once', async () => {
    store.failure = '503';
    try {
      await waitFor(() => running.logs.some((line) => line.includes('App Configuration refresh failed')), 4000, 'the failure warning');
      await new Promise((resolve) => setTimeout(resolve, 2500)); // more refreshes fail meanwhile
      expect(running.logs.filter((line) => line.includes('App Configuration refresh failed'))).toHaveLength(1);
      expect(await deploymentUsedFor(running.client(), 'smart')).toBe('gpt-4.1');
    } finally {
      store.failure = undefined;
    }
    await waitFor(() => running.logs.some((line) => line.includes('App Configuration answers again')), 4000, 'the recovery');
    store.set(`${PREFIX}model-map/fast`, 'gpt-35-turbo');
    await eventually(async () => (await deploymentUsedFor(running.client(), 'fast')) === 'gpt-35-turbo', 'a change after the outage');
  });
});

describe('plain settings and labels', () => {
  it('reads the settings of its label only, and they win over the environment', async () => {
    store.set(`${PREFIX}api-version`, '2024-06-01', { label: 'staging' });
    store.set(`${PREFIX}api-version`, '2025-03-01-preview', { label: 'prod' });
    store.set(`${PREFIX}model-map/labelled`, 'gpt-4o-mini', { label: 'prod' });
    const running = await run({ AZURE_APPCONFIG_LABEL: 'prod', AZURE_OPENAI_API_VERSION: '2024-02-01' });
    try {
      expect(await deploymentUsedFor(running.client(), 'labelled')).toBe('gpt-4o-mini');
      expect(emulator.requests.at(-1)?.query['api-version']).toBe('2025-03-01-preview');
    } finally {
      await running.close();
    }
  });
});

describe('client keys in App Configuration', () => {
  let running: Running;
  beforeAll(async () => {
    store.set(`${PREFIX}client-keys/alice`, hex('alice-secret-key'));
    store.set(`${PREFIX}client-keys/bob`, JSON.stringify({ sha256: hex('bob-secret-key'), models: ['gpt-4o'] }), { contentType: 'application/json' });
    running = await run({ AZURE_OPENAI_TOKEN: EMULATOR_API_KEY });
  });
  afterAll(() => running.close());

  it('lets a listed key in, and names it in the log instead of the key', async () => {
    await running.client('alice-secret-key').chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
    expect(emulator.requests.at(-1)?.headers['api-key']).toBe(EMULATOR_API_KEY);
    const log = running.logs.join('\n');
    expect(log).toContain('client=alice');
    for (const secret of ['alice-secret-key', 'bob-secret-key', EMULATOR_API_KEY, CREDENTIAL.secret]) expect(log).not.toContain(secret);
  });

  it('refuses a missing or wrong key without calling Azure', async () => {
    const before = emulator.requests.length;
    const missing = await fetch(`${running.host.url}/v1/chat/completions`, { method: 'POST', body: '{"model":"gpt-4o","messages":[]}' });
    expect(missing.status).toBe(401);
    await expect(running.client('mallory').chat.completions.create({ model: 'gpt-4o', messages: [] })).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
    expect(emulator.requests.length).toBe(before);
  });

  it('limits a key to its models, in calls and in the model list', async () => {
    const bob = running.client('bob-secret-key');
    await bob.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
    await expect(bob.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
      status: 403,
      code: 'model_not_allowed',
    });
    expect((await bob.models.list()).data.map((m) => m.id)).toEqual(expect.not.arrayContaining(['fast', 'smart']));
  });

  it("holds a key to the limits stored with it, and a changed limit within the refresh interval", async () => {
    store.set(`${PREFIX}client-keys/carol`, JSON.stringify({ sha256: hex('carol-secret-key'), limits: { requestsPerMinute: 1 } }), { contentType: 'application/json' });
    const carol = running.client('carol-secret-key');
    const ask = (): Promise<number | undefined> =>
      carol.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).then(
        () => 200,
        (e: { status?: number }) => e.status,
      );
    await eventually(async () => (await ask()) === 200, 'carol let in');
    expect(await ask()).toBe(429);
    store.set(`${PREFIX}client-keys/carol`, JSON.stringify({ sha256: hex('carol-secret-key'), limits: { requestsPerMinute: 100 } }), { contentType: 'application/json' });
    await eventually(async () => (await ask()) === 200, 'the raised limit in force');
    const { response } = await carol.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).withResponse();
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('100');
  });

  it('revokes a key deleted from the store within the refresh interval', async () => {
    store.delete(`${PREFIX}client-keys/alice`);
    await eventually(
      async () =>
        (await running.client('alice-secret-key').chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).then(
          () => 200,
          (e: { status?: number }) => e.status,
        )) === 401,
      'alice refused',
    );
  });
});

describe('a store that cannot be read at start-up', () => {
  it('fails start-up with a clear message when the environment has no model map', async () => {
    const badSecret = Buffer.from('wrong').toString('base64');
    const error = await createProxyFromEnvironment(
      {
        AZURE_OPENAI_ENDPOINT: emulator.url,
        AZURE_APPCONFIG_CONNECTION_STRING: store.connectionString({ id: CREDENTIAL.id, secret: badSecret }),
        AZURE_APPCONFIG_STARTUP_TIMEOUT_SECONDS: '1',
      },
      { logger: capturingLogger([]) },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppConfigurationUnavailableError);
    expect((error as Error).message).toContain(`Could not load settings from Azure App Configuration at ${store.url}`);
    expect((error as Error).message).not.toContain(badSecret);
    expect(store.requests.at(-1)?.auth).toBe('rejected');
  }, 20_000);

  it('starts from the environment map when it has one, and takes the store once it answers', async () => {
    store.set(`${PREFIX}model-map/late`, 'gpt-4.1');
    store.failure = 'drop';
    let running: Running | undefined;
    try {
      running = await run({ AZURE_OPENAI_MODEL_MAPPER: 'late=gpt-4o', AZURE_APPCONFIG_STARTUP_TIMEOUT_SECONDS: '1' });
      expect(running.logs.some((line) => line.includes('App Configuration unreachable at start-up'))).toBe(true);
      expect(await deploymentUsedFor(running.client(), 'late')).toBe('gpt-4o');
      store.failure = undefined;
      const current = running;
      await waitFor(() => current.proxy.config.azure.modelMap.explicit('late')?.backends[0]?.deployment === 'gpt-4.1', 15_000, 'the store to be loaded');
      expect(await deploymentUsedFor(running.client(), 'late')).toBe('gpt-4.1');
    } finally {
      store.failure = undefined;
      await running?.close();
    }
  }, 30_000);
});
