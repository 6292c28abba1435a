/**
 * Realtime the serverless way: `client.realtime.clientSecrets.create()` of the `openai` SDK gets a short-lived key
 * from Azure's GA Realtime API (the emulator's `POST /openai/v1/realtime/client_secrets`) through the proxy, with
 * the proxy's credential, its client checks and the model mapped to the deployment; the answer says where the
 * browser sends its WebRTC offer.
 */
import OpenAI from 'openai';
import { createHash } from 'node:crypto';
import { assembleConfig, parseClientKey } from '../../src/core/config/config';
import { createProxy } from '../../src/core/proxy';
import { AzureOpenAIEmulator, EMULATOR_API_KEY } from '../../src/emulator/server';
import { startLocalHost } from '../../src/hosting/node/localHost';
import { capturingLogger, startStack, type Stack } from '../support/stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    env: {
      AZURE_OPENAI_AUTH: 'key',
      AZURE_OPENAI_TOKEN: EMULATOR_API_KEY,
      PROXY_API_KEYS: 'client-key',
      AZURE_OPENAI_MODEL_MAPPER: 'voice=gpt-realtime',
      PROXY_KEY_LIMITS: JSON.stringify({ requestsPerMinute: 3 }),
    },
  });
});
afterAll(() => stack.close());

const client = (apiKey = 'client-key'): OpenAI => new OpenAI({ apiKey, baseURL: stack.baseURL, maxRetries: 0 });

describe('POST /v1/realtime/client_secrets', () => {
  it("mints a client secret with the proxy's credential, the model mapped, and says where the browser connects", async () => {
    const from = stack.emulator.requests.length;
    const { data, response } = await client()
      .realtime.clientSecrets.create({ session: { type: 'realtime', model: 'voice', instructions: 'Be brief.' }, expires_after: { anchor: 'created_at', seconds: 120 } })
      .withResponse();
    expect(data.value).toMatch(/^ek_/);
    expect(data.expires_at).toBeGreaterThan(Date.now() / 1000 + 100);
    expect(response.headers.get('x-proxy-realtime-calls-url')).toBe(`${stack.emulator.url}/openai/v1/realtime/calls?webrtcfilter=on`);
    const sent = stack.emulator.requests.slice(from);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.path).toBe('/openai/v1/realtime/client_secrets');
    // The proxy's Azure key, never the client's.
    expect(sent[0]?.headers['api-key']).toBe(EMULATOR_API_KEY);
    expect(JSON.parse(sent[0]?.body ?? '{}')).toEqual({ session: { type: 'realtime', model: 'gpt-realtime', instructions: 'Be brief.' }, expires_after: { anchor: 'created_at', seconds: 120 } });
    const line = stack.logs.filter((l) => l.startsWith('info request ')).at(-1) ?? '';
    expect(line).toContain('route=realtimeClientSecrets');
    expect(line).toContain('deployment=gpt-realtime');
  });

  it('refuses a caller without a client key, a session without a model, and a deployment that is not realtime, sending nothing for the first two', async () => {
    const from = stack.emulator.requests.length;
    await expect(client('wrong').realtime.clientSecrets.create({ session: { type: 'realtime', model: 'voice' } })).rejects.toMatchObject({ status: 401 });
    await expect(client().realtime.clientSecrets.create({})).rejects.toMatchObject({ status: 400, param: 'session.model' });
    expect(stack.emulator.requests.length).toBe(from);
    await expect(client().realtime.clientSecrets.create({ session: { type: 'realtime', model: 'gpt-4o' } })).rejects.toMatchObject({ status: 400 });
  });

  it("holds the key's limits: past its requests per minute, a 429 and nothing sent", async () => {
    const from = stack.emulator.requests.length;
    const outcomes = await Promise.allSettled(Array.from({ length: 4 }, () => client().realtime.clientSecrets.create({ session: { type: 'realtime', model: 'voice' } })));
    expect(outcomes.some((outcome) => outcome.status === 'rejected' && (outcome.reason as { status?: number }).status === 429)).toBe(true);
    expect(stack.emulator.requests.length - from).toBeLessThan(4);
  });
});

describe('a key limited to models', () => {
  it('may mint a secret only for its models, and nothing is sent for another', async () => {
    const emulator = await AzureOpenAIEmulator.start();
    const config = assembleConfig(
      { AZURE_OPENAI_ENDPOINT: emulator.url, AZURE_OPENAI_AUTH: 'key', AZURE_OPENAI_TOKEN: EMULATOR_API_KEY, AZURE_OPENAI_MODEL_MAPPER: 'voice=gpt-realtime' },
      { settings: {}, models: new Map(), clientKeys: [parseClientKey('chat-only', { sha256: createHash('sha256').update('chat-only-key').digest('hex'), models: ['gpt-4o'] })] },
    );
    const host = await startLocalHost({ proxy: createProxy(config, { logger: capturingLogger([]) }) });
    try {
      const chatOnly = new OpenAI({ apiKey: 'chat-only-key', baseURL: `${host.url}/v1`, maxRetries: 0 });
      await expect(chatOnly.realtime.clientSecrets.create({ session: { type: 'realtime', model: 'voice' } })).rejects.toMatchObject({ status: 403, code: 'model_not_allowed' });
      expect(emulator.requests).toHaveLength(0);
    } finally {
      await host.close();
      await emulator.close();
    }
  });
});
