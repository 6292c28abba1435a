/**
 * Deployments found on their own (AZURE_OPENAI_RESOURCE_ID): a proxy process lists the account's deployments from
 * a Resource Manager stand-in with its managed identity (the real @azure/identity, through the identity stand-in),
 * lists them on /v1/models, and sends a model name to the one deployment running it; explicit mappings win, an
 * ambiguous name is refused with the candidates, a change is picked up on refresh, and a refused read (no role
 * yet) leaves the proxy serving and saying what to grant.
 */
import OpenAI from 'openai';
import { AzureOpenAIEmulator } from '../../src/emulator/server';
import { ManagedIdentityStandIn } from '../support/managedIdentityStandIn';
import { runProxyProcess, type ProxyProcess } from '../support/proxyProcess';
import { ResourceManagerStandIn } from '../support/resourceManagerStandIn';
import { startFunctionsStack } from '../support/functionsStack';

const COGNITIVE_SERVICES = 'https://cognitiveservices.azure.com';
const ACCOUNT = ResourceManagerStandIn.accountId('my-openai');
const deployment = (name: string, model: string, version?: string, state?: string): ReturnType<typeof ResourceManagerStandIn.deployment> =>
  ResourceManagerStandIn.deployment(ACCOUNT, name, model, version, state === undefined ? {} : { state });

let identity: ManagedIdentityStandIn;
let emulator: AzureOpenAIEmulator;
let arm: ResourceManagerStandIn;
const running: ProxyProcess[] = [];

beforeAll(async () => {
  identity = await ManagedIdentityStandIn.start();
  emulator = await AzureOpenAIEmulator.start({
    apiKeys: [],
    acceptBearer: (token) => ManagedIdentityStandIn.isTokenFor(token, COGNITIVE_SERVICES),
    deployments: [
      { name: 'chat-prod', model: 'gpt-4o-2024-08-06', kind: 'chat' },
      { name: 'mini-eu', model: 'gpt-4o-mini-2024-07-18', kind: 'chat' },
      { name: 'mini-us', model: 'gpt-4o-mini-2024-07-18', kind: 'chat' },
      { name: 'embed', model: 'text-embedding-3-small', kind: 'embeddings', dimensions: 1536 },
      { name: 'late-arrival', model: 'gpt-4.1-2025-04-14', kind: 'chat' },
    ],
  });
  // Resource Manager takes only tokens for its own audience: the proxy must ask for that scope.
  arm = await ResourceManagerStandIn.start({ pageSize: 2, acceptBearer: (token) => ManagedIdentityStandIn.isTokenFor(token, arm.url) });
});
beforeEach(() => {
  arm.forbid = false;
  arm.setDeployments(ACCOUNT, [
    deployment('chat-prod', 'gpt-4o', '2024-08-06'),
    deployment('mini-eu', 'gpt-4o-mini', '2024-07-18'),
    deployment('mini-us', 'gpt-4o-mini', '2024-07-18'),
    deployment('embed', 'text-embedding-3-small', '1'),
    deployment('being-made', 'gpt-4.1', '2025-04-14', 'Creating'),
  ]);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});
afterAll(async () => {
  await Promise.all([emulator.close(), identity.close(), arm.close()]);
});

/** The app as deployed (managed identity), discovering ACCOUNT's deployments from the stand-in. */
const settings = (): Record<string, string> => ({
  AZURE_OPENAI_ENDPOINT: emulator.url,
  AZURE_OPENAI_AUTH: 'managed-identity',
  PROXY_API_KEYS: 'k',
  AZURE_OPENAI_RESOURCE_ID: ACCOUNT,
  AZURE_RESOURCE_MANAGER_ENDPOINT: arm.url,
  ...identity.environment(),
});

async function start(env: Record<string, string> = {}): Promise<{ proxy: ProxyProcess; client: OpenAI }> {
  const proxy = runProxyProcess({ PORT: '0', ...settings(), ...env });
  running.push(proxy);
  return { proxy, client: new OpenAI({ apiKey: 'k', baseURL: await proxy.listening(), maxRetries: 0 }) };
}

const lastDeploymentCalled = (): string | undefined => /\/deployments\/([^/]+)\//.exec(emulator.requests.at(-1)?.path ?? '')?.[1];
const ask = (client: OpenAI, model: string): Promise<unknown> => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });

describe('deployments found on their own', () => {
  it('lists them on /v1/models and sends a model name to the one deployment running it; a mapping wins', async () => {
    const { client, proxy } = await start({ AZURE_OPENAI_MODEL_MAPPER: 'gpt-4o-mini=mini-eu' });
    const models = (await client.models.list()).data.map((m) => [m.id, (m as unknown as { deployment: string }).deployment]);
    // One id per deployment: the mapped name, the model name where it reaches its one deployment, else the deployment's name.
    // The one still being created is not listed; three pages were read.
    expect(models).toEqual([
      ['gpt-4o-mini', 'mini-eu'],
      ['gpt-4o', 'chat-prod'],
      ['mini-us', 'mini-us'],
      ['text-embedding-3-small', 'embed'],
    ]);
    expect(arm.requests.filter((r) => r.status === 200).map((r) => r.query.$skipToken ?? '0')).toEqual(['0', '2', '4']);
    expect(arm.requests.every((r) => r.query['api-version'] === '2024-10-01')).toBe(true);

    await ask(client, 'gpt-4o');
    expect(lastDeploymentCalled()).toBe('chat-prod');
    await ask(client, 'gpt-4o-2024-08-06');
    expect(lastDeploymentCalled()).toBe('chat-prod');
    await ask(client, 'gpt-4o-mini');
    expect(lastDeploymentCalled()).toBe('mini-eu');
    await ask(client, 'mini-us');
    expect(lastDeploymentCalled()).toBe('mini-us');
    expect(await client.models.retrieve('gpt-4o')).toMatchObject({ id: 'gpt-4o', deployment: 'chat-prod' });
    expect(proxy.output()).toMatch(/deployments discovered .*count=4/);
  });

  it('refuses a model that several deployments run, naming them, rather than picking one', async () => {
    const { client } = await start();
    const error = await ask(client, 'gpt-4o-mini').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
    expect((error as Error).message).toContain('mini-eu (gpt-4o-mini 2024-07-18), mini-us (gpt-4o-mini 2024-07-18)');
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(['gpt-4o', 'mini-eu', 'mini-us', 'text-embedding-3-small']);
  });

  it('picks up a new deployment on refresh', async () => {
    const { client } = await start({ AZURE_OPENAI_DISCOVERY_REFRESH_SECONDS: '1' });
    expect((await client.models.list()).data.map((m) => m.id)).not.toContain('gpt-4.1');
    arm.setDeployments(ACCOUNT, [deployment('chat-prod', 'gpt-4o', '2024-08-06'), deployment('late-arrival', 'gpt-4.1', '2025-04-14')]);
    const deadline = Date.now() + 5000;
    let ids: string[] = [];
    while (Date.now() < deadline && !ids.includes('gpt-4.1')) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      ids = (await client.models.list()).data.map((m) => m.id);
    }
    expect(ids).toEqual(['gpt-4o', 'gpt-4.1']);
    await ask(client, 'gpt-4.1');
    expect(lastDeploymentCalled()).toBe('late-arrival');
  });

  it('serves without the list while the identity may not read it, says which role to grant, and catches up', async () => {
    arm.forbid = true;
    const { client, proxy } = await start({ AZURE_OPENAI_DISCOVERY_REFRESH_SECONDS: '1' });
    const warning = await proxy.outputContaining('Deployment discovery failed');
    expect(warning).toContain('AuthorizationFailed');
    expect(warning).toContain('Cognitive Services OpenAI User');
    expect((await client.models.list()).data).toEqual([]);
    await ask(client, 'chat-prod');
    expect(lastDeploymentCalled()).toBe('chat-prod');
    // Refused again on every refresh, said once.
    await new Promise((resolve) => setTimeout(resolve, 2200));
    expect(proxy.output().split('Deployment discovery failed').length - 1).toBe(1);

    arm.forbid = false;
    await proxy.outputContaining('Deployment discovery answers again', 1, 5000);
    await ask(client, 'gpt-4o');
    expect(lastDeploymentCalled()).toBe('chat-prod');
  }, 20_000);
});

describe('under the Functions host', () => {
  it('finds them the same way, and the listModels and chatCompletions functions serve with them', async () => {
    const stack = await startFunctionsStack(settings());
    try {
      const client = new OpenAI({ apiKey: 'k', baseURL: stack.baseURL, maxRetries: 0 });
      expect((await client.models.list()).data.map((m) => m.id)).toEqual(['gpt-4o', 'mini-eu', 'mini-us', 'text-embedding-3-small']);
      await ask(client, 'gpt-4o');
      expect(lastDeploymentCalled()).toBe('chat-prod');
      expect(stack.host.invocations.map((i) => i.functionName)).toEqual(expect.arrayContaining(['listModels', 'chatCompletions']));
    } finally {
      await stack.close();
    }
  }, 30_000);
});
