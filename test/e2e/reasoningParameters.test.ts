/**
 * Reasoning deployments refuse `max_tokens` and sampling parameters that chat UIs and SDK versions still send. The
 * emulator refuses them as Azure does (400, `unsupported_parameter` / `unsupported_value`, one at a time); the proxy
 * fixes the field Azure names and sends again before anything reaches the client, remembers what the deployment
 * refused, and fixes `max_tokens` before the first call where the model is known to reason. A setting turns it off.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { AzureOpenAIEmulator, EMULATOR_API_KEY, type RecordedRequest } from '../../src/emulator/server';
import { loadConfig } from '../../src/core/config/config';
import { staticConfigSource } from '../../src/core/config/configSource';
import { MemoryDeployments, type DiscoveredDeployment } from '../../src/core/discovery/deployments';
import { DeploymentDiscovery, withDiscovery } from '../../src/core/discovery/discovery';
import { createProxy } from '../../src/core/proxy';
import { startLocalHost } from '../../src/hosting/node/localHost';
import { capturingLogger, startProxy, startStack, type Stack } from '../support/stack';

const DEPLOYMENTS = [
  { name: 'gpt-4o', model: 'gpt-4o-2024-08-06', kind: 'chat' as const },
  { name: 'o4-mini', model: 'o4-mini-2025-04-16', kind: 'chat' as const },
  { name: 'reasoner', model: 'o3-mini-2025-01-31', kind: 'chat' as const },
  { name: 'reasoner-2', model: 'o3-mini-2025-01-31', kind: 'chat' as const },
];

let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack({ env: { AZURE_OPENAI_MODEL_MAPPER: 'thinker=reasoner,thinker-2=reasoner-2,o3-mini=reasoner' }, emulator: { deployments: DEPLOYMENTS } });
  client = new OpenAI({ apiKey: EMULATOR_API_KEY, baseURL: stack.baseURL, maxRetries: 0 });
});
afterAll(() => stack.close());

/** What the emulator received for a deployment since `from`, as parsed bodies. */
function sentTo(deployment: string, from: number): Array<Record<string, unknown>> {
  return stack.emulator.requests
    .slice(from)
    .filter((request: RecordedRequest) => request.path.includes(`/deployments/${deployment}/`))
    .map((request) => JSON.parse(request.body) as Record<string, unknown>);
}

const lastLine = (): string => stack.logs.filter((line) => line.startsWith('info request ')).at(-1) ?? '';

describe('parameters a reasoning deployment refuses', () => {
  it('renames max_tokens before the first call when the model is known to reason, keeping the other bytes', async () => {
    const from = stack.emulator.requests.length;
    // Written by hand: a 64-bit seed, which a JavaScript client would round before sending.
    const response = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${EMULATOR_API_KEY}`, 'content-type': 'application/json' },
      body: '{"model":"o4-mini", "max_tokens": 5, "seed":9007199254740993,"messages":[{"role":"user","content":"hello there"}]}',
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { choices: Array<{ finish_reason: string }> }).choices[0]?.finish_reason).toBe('length');
    const sent = stack.emulator.requests.slice(from);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.body).toContain('"max_completion_tokens":5');
    expect(sent[0]?.body).not.toContain('max_tokens"');
    // The value's bytes as the client wrote them: a 64-bit seed is not rounded by a parse and a print.
    expect(sent[0]?.body).toContain('"seed":9007199254740993');
    expect(lastLine()).toContain('translated=max_tokens');
    expect(lastLine()).not.toContain('parameter_retries');
  });

  it('fixes each field Azure names, one answer at a time, and sends again, for a deployment whose model it does not know', async () => {
    const from = stack.emulator.requests.length;
    const completion = await client.chat.completions.create({
      model: 'thinker',
      max_tokens: 50,
      temperature: 0.2,
      presence_penalty: 0.5,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.choices[0]?.message.content).toContain('emulator');
    const sent = sentTo('reasoner', from);
    expect(sent).toHaveLength(4);
    expect(sent[3]).toEqual({ model: 'thinker', max_completion_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
    expect(lastLine()).toContain('parameter_retries=3');
    expect(lastLine()).toMatch(/translated=[a-z_,]*max_tokens/);
    expect(lastLine()).toContain('status=200');
  });

  it('remembers what a deployment refused, so the next request to it is fixed before its first call', async () => {
    const from = stack.emulator.requests.length;
    await client.chat.completions.create({ model: 'thinker', max_tokens: 50, temperature: 0.7, messages: [{ role: 'user', content: 'again' }] });
    expect(sentTo('reasoner', from)).toHaveLength(1);
    expect(sentTo('reasoner', from)[0]).not.toHaveProperty('temperature');
  });

  it('keeps max_completion_tokens when both are sent, dropping max_tokens', async () => {
    const from = stack.emulator.requests.length;
    await client.chat.completions.create({ model: 'o4-mini', max_tokens: 500, max_completion_tokens: 7, messages: [{ role: 'user', content: 'hi' }] });
    expect(sentTo('o4-mini', from)[0]).toMatchObject({ max_completion_tokens: 7 });
    expect(sentTo('o4-mini', from)[0]).not.toHaveProperty('max_tokens');
  });

  it('relays any other 400 as it is, and leaves other deployments alone', async () => {
    const from = stack.emulator.requests.length;
    await expect(client.chat.completions.create({ model: 'thinker-2', messages: [] })).rejects.toMatchObject({ status: 400, param: 'messages' });
    expect(sentTo('reasoner-2', from)).toHaveLength(1);
    await client.chat.completions.create({ model: 'gpt-4o', max_tokens: 5, temperature: 0.3, messages: [{ role: 'user', content: 'hi' }] });
    expect(sentTo('gpt-4o', from)[0]).toMatchObject({ max_tokens: 5, temperature: 0.3 });
  });
});

describe('a pool whose resources name their deployments alike', () => {
  it('remembers a refusal for the resource that refused it, not the first of that name', async () => {
    // The first resource is busy (429 for a minute), so the pool's second answers, and refuses max_tokens.
    const busy = createServer((_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '60' });
      res.end('{"error":{"code":"429","message":"Requests have exceeded the rate limit."}}');
    });
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const busyUrl = `http://127.0.0.1:${(busy.address() as AddressInfo).port}`;
    const second = await AzureOpenAIEmulator.start({ deployments: DEPLOYMENTS });
    const proxy = await startProxy({ AZURE_OPENAI_ENDPOINT: busyUrl, AZURE_OPENAI_MODEL_MAPPER: `pooled=${busyUrl}/reasoner?priority=1|${second.url}/reasoner?priority=2` });
    try {
      const pooled = new OpenAI({ apiKey: EMULATOR_API_KEY, baseURL: proxy.baseURL, maxRetries: 0 });
      await pooled.chat.completions.create({ model: 'pooled', max_tokens: 20, messages: [{ role: 'user', content: 'first' }] });
      expect(second.requests).toHaveLength(2);
      // Learned for the resource that refused it: the next request there is fixed before its first call.
      await pooled.chat.completions.create({ model: 'pooled', max_tokens: 20, messages: [{ role: 'user', content: 'second' }] });
      expect(second.requests).toHaveLength(3);
      expect(JSON.parse(second.requests[2]!.body)).toMatchObject({ max_completion_tokens: 20 });
    } finally {
      busy.closeAllConnections();
      await Promise.all([proxy.close(), second.close(), new Promise((resolve) => busy.close(resolve))]);
    }
  });
});

describe('a deployment discovered as running a reasoning model', () => {
  it('has max_tokens renamed before its first call, whatever its name', async () => {
    const emulator = await AzureOpenAIEmulator.start({ deployments: DEPLOYMENTS });
    const discovery = await DeploymentDiscovery.start({
      lister: new MemoryDeployments([{ name: 'reasoner', model: 'o3-mini', modelVersion: '2025-01-31', format: 'OpenAI' } satisfies DiscoveredDeployment]),
      refreshSeconds: 3600,
      logger: capturingLogger([]),
      resourceId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/a',
    });
    const source = withDiscovery(staticConfigSource(loadConfig({ AZURE_OPENAI_ENDPOINT: emulator.url })), discovery);
    const host = await startLocalHost({ proxy: createProxy(source, { logger: capturingLogger([]) }) });
    try {
      const discovered = new OpenAI({ apiKey: EMULATOR_API_KEY, baseURL: `${host.url}/v1`, maxRetries: 0 });
      await discovered.chat.completions.create({ model: 'reasoner', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
      expect(emulator.requests).toHaveLength(1);
      expect(JSON.parse(emulator.requests[0]?.body ?? '{}')).toMatchObject({ max_completion_tokens: 5 });
    } finally {
      await host.close();
      await source.close();
      await emulator.close();
    }
  });
});

describe('PROXY_TRANSLATE_PARAMETERS=false', () => {
  it("relays Azure's refusal in OpenAI's shape, sending nothing again", async () => {
    const off = await startStack({ env: { PROXY_TRANSLATE_PARAMETERS: 'false' }, emulator: { deployments: DEPLOYMENTS } });
    try {
      const offClient = new OpenAI({ apiKey: EMULATOR_API_KEY, baseURL: off.baseURL, maxRetries: 0 });
      await expect(offClient.chat.completions.create({ model: 'o4-mini', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({
        status: 400,
        code: 'unsupported_parameter',
        param: 'max_tokens',
      });
      expect(off.emulator.requests).toHaveLength(1);
    } finally {
      await off.close();
    }
  });
});
