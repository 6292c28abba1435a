/**
 * Managed identity, with the real @azure/identity in a proxy process whose environment points it at a local
 * managed-identity endpoint (IDENTITY_ENDPOINT / IDENTITY_HEADER, as App Service and Functions provide):
 * tokens for Azure OpenAI, and for App Configuration over https on loopback with a certificate made here.
 */
import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import { AzureOpenAIEmulator } from '../../src/emulator/server';
import { AppConfigurationStandIn } from '../support/appConfigurationStandIn';
import { ManagedIdentityStandIn } from '../support/managedIdentityStandIn';
import { runProxyProcess, type ProxyProcess } from '../support/proxyProcess';
import { makeTestCertificate } from '../support/tls';

const COGNITIVE_SERVICES = 'https://cognitiveservices.azure.com';
const APP_CONFIGURATION = 'https://appconfig.azure.com';

let identity: ManagedIdentityStandIn;
let emulator: AzureOpenAIEmulator;
const running: ProxyProcess[] = [];

beforeAll(async () => {
  identity = await ManagedIdentityStandIn.start();
  // This Azure OpenAI takes no keys: only a token of the managed identity, for its resource.
  emulator = await AzureOpenAIEmulator.start({ apiKeys: [], acceptBearer: (token) => ManagedIdentityStandIn.isTokenFor(token, COGNITIVE_SERVICES) });
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});
afterAll(async () => {
  await emulator.close();
  await identity.close();
});

function start(env: Record<string, string>): ProxyProcess {
  const proxy = runProxyProcess({ PORT: '0', AZURE_OPENAI_ENDPOINT: emulator.url, ...identity.environment(), ...env });
  running.push(proxy);
  return proxy;
}

describe('AZURE_OPENAI_AUTH=managed-identity', () => {
  it('calls Azure OpenAI with the identity token, fetched once for many requests', async () => {
    const proxy = start({ AZURE_OPENAI_AUTH: 'managed-identity', PROXY_API_KEYS: 'client-key-1' });
    const client = new OpenAI({ apiKey: 'client-key-1', baseURL: await proxy.listening(), maxRetries: 0 });
    const before = identity.count(COGNITIVE_SERVICES);
    for (let i = 0; i < 5; i++) await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `call ${i}` }] });
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'streamed' }], stream: true });
    for await (const _chunk of stream) {
      // drain
    }
    expect(identity.count(COGNITIVE_SERVICES) - before).toBe(1);
    const upstream = emulator.requests.at(-1)!;
    expect(upstream.headers.authorization).toMatch(/^Bearer mi-token\|https:\/\/cognitiveservices\.azure\.com\|/);
    expect(upstream.headers['api-key']).toBeUndefined();
    expect(JSON.stringify(upstream.headers)).not.toContain('client-key-1');
    // Once all six request lines are out, nothing written holds the token.
    expect(await proxy.outputContaining(' status=200 ', 6)).not.toContain('mi-token|');
  });

  it('asks for the user-assigned identity named by AZURE_CLIENT_ID', async () => {
    const proxy = start({ AZURE_OPENAI_AUTH: 'managed-identity', PROXY_API_KEYS: 'k', AZURE_CLIENT_ID: 'user-assigned-id-1' });
    const client = new OpenAI({ apiKey: 'k', baseURL: await proxy.listening(), maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
    expect(identity.requests.at(-1)).toEqual({ resource: COGNITIVE_SERVICES, clientId: 'user-assigned-id-1' });
  });

  it('answers 503 naming the cause, at once, when no token can be had', async () => {
    identity.refuse = true;
    try {
      const proxy = start({ AZURE_OPENAI_AUTH: 'managed-identity', PROXY_API_KEYS: 'k' });
      const client = new OpenAI({ apiKey: 'k', baseURL: await proxy.listening(), maxRetries: 0 });
      const started = Date.now();
      const error = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.InternalServerError);
      expect(error).toMatchObject({ status: 503, code: 'upstream_credential_unavailable', type: 'server_error' });
      expect((error as Error).message).toMatch(/managed identity/i);
      expect(Date.now() - started).toBeLessThan(12_000);
    } finally {
      identity.refuse = false;
    }
  }, 30_000);
});

describe('App Configuration with the managed identity', () => {
  it('reads the store over https with the identity token', async () => {
    // A certificate for the loopback store, trusted by the proxy process through NODE_EXTRA_CA_CERTS.
    const certificate = makeTestCertificate();
    const store = await AppConfigurationStandIn.start({
      tls: { key: certificate.key, cert: certificate.cert },
      acceptBearer: (token) => ManagedIdentityStandIn.isTokenFor(token, APP_CONFIGURATION),
    });
    try {
      store.set('openai-proxy:model-map/from-store', 'gpt-4.1');
      store.set('openai-proxy:client-keys/carol', createHash('sha256').update('carol-key').digest('hex'));
      const proxy = start({ AZURE_OPENAI_AUTH: 'managed-identity', AZURE_APPCONFIG_ENDPOINT: store.url, NODE_EXTRA_CA_CERTS: certificate.certPath });
      const baseURL = await proxy.listening();
      expect(store.requests.length).toBeGreaterThan(0);
      expect(store.requests.every((r) => r.auth === 'bearer')).toBe(true);
      expect(identity.count(APP_CONFIGURATION)).toBeGreaterThan(0);
      // The store's client key and model map are in force.
      const carol = new OpenAI({ apiKey: 'carol-key', baseURL, maxRetries: 0 });
      await carol.chat.completions.create({ model: 'from-store', messages: [{ role: 'user', content: 'x' }] });
      expect(emulator.requests.at(-1)?.path).toBe('/openai/deployments/gpt-4.1/chat/completions');
      const refused = new OpenAI({ apiKey: 'not-carol', baseURL, maxRetries: 0 });
      await expect(refused.chat.completions.create({ model: 'from-store', messages: [] })).rejects.toMatchObject({ status: 401 });
      await proxy.outputContaining('client=carol');
    } finally {
      await store.close();
    }
  }, 30_000);
});
