import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../../src/core/config/config';
import { ModelMap, parseModelMapper, singleBackend } from '../../../src/core/config/modelMap';
import { cloudOf, resourceManagerScope } from '../../../src/core/azure/clouds';
import { MemoryDeployments, type DiscoveredDeployment } from '../../../src/core/discovery/deployments';
import { DeploymentDiscovery, withDiscovery } from '../../../src/core/discovery/discovery';
import { discoveryFix, resourceManagerDeployments, ResourceManagerError } from '../../../src/core/discovery/resourceManager';
import { staticConfigSource } from '../../../src/core/config/configSource';
import type { Logger } from '../../../src/core/logger';
import { ResourceManagerStandIn } from '../../support/resourceManagerStandIn';

const d = (name: string, model: string, modelVersion?: string): DiscoveredDeployment => ({ name, model, ...(modelVersion !== undefined && { modelVersion }), format: 'OpenAI' });

describe('a model map with discovered deployments', () => {
  const map = parseModelMapper('gpt-4o=mapped-4o').withDiscovered([
    d('chat-prod', 'gpt-4o', '2024-08-06'),
    d('mini-a', 'gpt-4o-mini', '2024-07-18'),
    d('mini-b', 'gpt-4o-mini', '2025-01-01'),
    d('turbo', 'gpt-35-turbo', '0125'),
    d('gpt-4.1', 'o3-mini', '2025-01-31'),
    d('x41', 'gpt-4.1', '2025-04-14'),
  ]);

  it.each([
    ['gpt-4o', 'mapped-4o', 'mapped'],
    ['chat-prod', 'chat-prod', 'discovered'],
    ['gpt-4o-2024-08-06', 'chat-prod', 'discovered'],
    ['gpt-4o-mini-2025-01-01', 'mini-b', 'discovered'],
    ['gpt-3.5-turbo', 'turbo', 'discovered'],
    ['gpt-3.5-turbo-0125', 'turbo', 'discovered'],
    // A deployment's own name wins over a model another deployment runs.
    ['gpt-4.1', 'gpt-4.1', 'discovered'],
    ['gpt-4.1-2025-04-14', 'x41', 'discovered'],
    ['o3-mini', 'gpt-4.1', 'discovered'],
    // Several run it: not picked here (the handler refuses it, naming them).
    ['gpt-4o-mini', 'gpt-4o-mini', 'unchanged'],
    ['gpt-3.5-turbo-instruct', 'gpt-35-turbo-instruct', 'renamed'],
    ['no-such-model', 'no-such-model', 'unchanged'],
  ])('%s goes to %s (%s)', (model, deployment, source) => {
    expect(map.resolve(model)).toEqual({ ...singleBackend(deployment), source });
  });

  it('tells which deployments run a model', () => {
    expect(map.deploymentsRunning('gpt-4o-mini').map((x) => x.name)).toEqual(['mini-a', 'mini-b']);
    expect(map.deploymentsRunning('unknown')).toEqual([]);
  });

  it('keeps the list through store overrides, and replaces it with a new one', () => {
    const overridden = map.withOverrides(new Map([['x', singleBackend('y')]]));
    expect(overridden.discovered).toHaveLength(6);
    expect(overridden.withDiscovered([]).resolve('chat-prod')?.source).toBe('unchanged');
    expect(new ModelMap().discovered).toEqual([]);
  });
});

describe('the Resource Manager lister', () => {
  const ACCOUNT = ResourceManagerStandIn.accountId('acct');
  let arm: ResourceManagerStandIn;
  beforeAll(async () => {
    arm = await ResourceManagerStandIn.start({ pageSize: 2, acceptBearer: (token) => token === 'arm-token' });
  });
  afterAll(() => arm.close());
  beforeEach(() => {
    arm.forbid = false;
    arm.nextLinkOrigin = undefined;
    arm.setDeployments(ACCOUNT, [
      ResourceManagerStandIn.deployment(ACCOUNT, 'a', 'gpt-4o', '2024-08-06'),
      ResourceManagerStandIn.deployment(ACCOUNT, 'b', 'gpt-4o-mini', '2024-07-18', { state: 'Failed' }),
      ResourceManagerStandIn.deployment(ACCOUNT, 'c', 'Phi-4', '7', { format: 'Microsoft' }),
      ResourceManagerStandIn.deployment(ACCOUNT, 'd', 'gpt-4.1', '2025-04-14', { state: 'Updating' }),
      ResourceManagerStandIn.deployment(ACCOUNT, 'e', 'o3', '2025-04-16', { state: 'Deleting' }),
    ]);
  });
  const lister = (resourceId = ACCOUNT, endpoint = arm.url, token = 'arm-token') => resourceManagerDeployments({ endpoint, resourceId, token: async () => token, timeoutMs: 2000 });

  it('reads every page, keeping the deployments that serve', async () => {
    expect(await lister().list()).toEqual([
      { name: 'a', model: 'gpt-4o', modelVersion: '2024-08-06', format: 'OpenAI' },
      { name: 'c', model: 'Phi-4', modelVersion: '7', format: 'Microsoft' },
      { name: 'd', model: 'gpt-4.1', modelVersion: '2025-04-14', format: 'OpenAI' },
    ]);
  });

  it('does not follow a next page on another host, where the token would go', async () => {
    let stolen = 0;
    const elsewhere = createServer((req, res) => {
      stolen++;
      res.end('{"value":[]}');
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    arm.nextLinkOrigin = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
    try {
      await expect(lister().list()).rejects.toThrow(/next page is on another host/);
      expect(stolen).toBe(0);
    } finally {
      elsewhere.close();
    }
  });

  it.each([
    ['a principal without the role', () => (arm.forbid = true), 403, 'AuthorizationFailed', /Cognitive Services OpenAI User/],
    ['an account that is not there', () => undefined, 404, 'ResourceNotFound', /AZURE_OPENAI_RESOURCE_ID/],
  ])('says what is wrong with %s, and what to do', async (_what, arrange, status, code, fix) => {
    arrange();
    const resourceId = status === 404 ? ResourceManagerStandIn.accountId('other') : ACCOUNT;
    const error = await lister(resourceId).list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceManagerError);
    expect(error).toMatchObject({ status, code });
    expect((error as Error).message).toContain(`Resource Manager answered ${status} ${code}`);
    expect(discoveryFix(error)).toMatch(fix);
  });

  it('refuses a wrong token as Resource Manager does, and names an unreachable endpoint', async () => {
    await expect(lister(ACCOUNT, arm.url, 'other-token').list()).rejects.toMatchObject({ status: 401, code: 'InvalidAuthenticationToken' });
    const error = await lister(ACCOUNT, 'http://127.0.0.1:9').list().catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^Resource Manager did not answer at http:\/\/127\.0\.0\.1:9/);
    expect(discoveryFix(error)).toMatch(/AZURE_RESOURCE_MANAGER_ENDPOINT/);
  });
});

describe('DeploymentDiscovery', () => {
  const logged: Array<[string, string, Record<string, unknown> | undefined]> = [];
  const logger: Logger = {
    info: (message, fields) => logged.push(['info', message, fields]),
    warn: (message, fields) => logged.push(['warn', message, fields]),
    error: (message, fields) => logged.push(['error', message, fields]),
  };
  beforeEach(() => logged.splice(0));
  const start = (lister: MemoryDeployments | { list: () => Promise<DiscoveredDeployment[]> }, startupWaitMs?: number): Promise<DeploymentDiscovery> =>
    DeploymentDiscovery.start({ lister, refreshSeconds: 3600, logger, resourceId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/a', ...(startupWaitMs !== undefined && { startupWaitMs }) });

  it('keeps the last good list when a listing fails, warns once, and says when it answers again', async () => {
    const lister = new MemoryDeployments([d('a', 'gpt-4o')]);
    const discovery = await start(lister);
    expect(discovery.deployments.map((x) => x.name)).toEqual(['a']);
    const version = discovery.version;
    lister.failure = new ResourceManagerError('Resource Manager answered 403 AuthorizationFailed: no', 403, 'AuthorizationFailed');
    await discovery.refresh();
    await discovery.refresh();
    expect(discovery.deployments.map((x) => x.name)).toEqual(['a']);
    expect(logged.filter(([level]) => level === 'warn')).toEqual([['warn', 'Deployment discovery failed; the last list stays', expect.objectContaining({ fix: expect.stringContaining('Cognitive Services OpenAI User') })]]);
    lister.failure = undefined;
    lister.set([d('a', 'gpt-4o'), d('b', 'o3')]);
    await discovery.refresh();
    expect(discovery.version).toBe(version + 1);
    expect(logged.map(([, message]) => message)).toContain('Deployment discovery answers again');
    await discovery.refresh();
    expect(discovery.version).toBe(version + 1);
    await discovery.close();
  });

  it('does not hold start-up longer than its wait for a listing that hangs', async () => {
    let release: (list: DiscoveredDeployment[]) => void = () => undefined;
    const started = Date.now();
    const discovery = await start({ list: () => new Promise<DiscoveredDeployment[]>((resolve) => (release = resolve)) }, 100);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(discovery.deployments).toEqual([]);
    release([d('late', 'gpt-4o')]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(discovery.deployments.map((x) => x.name)).toEqual(['late']);
    await discovery.close();
  });

  it('lays the list over each configuration snapshot, the same snapshot while neither changes', async () => {
    const lister = new MemoryDeployments([d('chat-prod', 'gpt-4o')]);
    const discovery = await start(lister);
    const source = withDiscovery(staticConfigSource(loadConfig({ AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com' })), discovery);
    const first = source.current();
    expect(first.azure.modelMap.resolve('gpt-4o')).toEqual({ ...singleBackend('chat-prod'), source: 'discovered' });
    expect(source.current()).toBe(first);
    lister.set([d('chat-next', 'gpt-4o')]);
    await discovery.refresh();
    expect(source.current().azure.modelMap.resolve('gpt-4o')).toEqual({ ...singleBackend('chat-next'), source: 'discovered' });
    await source.close();
  });
});

describe('discovery settings, by cloud', () => {
  const RESOURCE_ID = '/subscriptions/1/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/a';
  it.each([
    ['https://r.openai.azure.com', 'https://management.azure.com', 'AzureCloud'],
    ['https://r.services.ai.azure.com', 'https://management.azure.com', 'AzureCloud'],
    ['https://r.openai.azure.us', 'https://management.usgovcloudapi.net', 'AzureUSGovernment'],
    ['https://r.cognitiveservices.azure.us', 'https://management.usgovcloudapi.net', 'AzureUSGovernment'],
    ['https://r.openai.azure.cn', 'https://management.chinacloudapi.cn', 'AzureChinaCloud'],
  ])('%s lists its deployments from %s', (endpoint, resourceManager, cloud) => {
    const config = loadConfig({ AZURE_OPENAI_ENDPOINT: endpoint, AZURE_OPENAI_RESOURCE_ID: `${RESOURCE_ID}/` });
    expect(config.azure.discovery).toEqual({ resourceId: RESOURCE_ID, resourceManagerEndpoint: resourceManager, refreshSeconds: 60 });
    expect(cloudOf(endpoint).name).toBe(cloud);
    expect(resourceManagerScope(resourceManager)).toBe(`${resourceManager}/.default`);
  });

  it('takes Resource Manager and the refresh from settings, https only but on this machine', () => {
    const env = { AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com', AZURE_OPENAI_RESOURCE_ID: RESOURCE_ID };
    expect(loadConfig({ ...env, AZURE_RESOURCE_MANAGER_ENDPOINT: 'https://arm.example.net/', AZURE_OPENAI_DISCOVERY_REFRESH_SECONDS: '300' }).azure.discovery).toEqual({
      resourceId: RESOURCE_ID,
      resourceManagerEndpoint: 'https://arm.example.net',
      refreshSeconds: 300,
    });
    expect(loadConfig({ ...env, AZURE_RESOURCE_MANAGER_ENDPOINT: 'http://127.0.0.1:8080' }).azure.discovery?.resourceManagerEndpoint).toBe('http://127.0.0.1:8080');
    expect(() => loadConfig({ ...env, AZURE_RESOURCE_MANAGER_ENDPOINT: 'http://arm.example.net' })).toThrow('AZURE_RESOURCE_MANAGER_ENDPOINT: "http://arm.example.net" must be an https URL (http only on localhost)');
    expect(loadConfig({ AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com' }).azure.discovery).toBeUndefined();
  });

  it("refuses an id that is not an account's, showing the form", () => {
    expect(() => loadConfig({ AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com', AZURE_OPENAI_RESOURCE_ID: `${RESOURCE_ID}/deployments/gpt-4o` })).toThrow(
      /AZURE_OPENAI_RESOURCE_ID: ".*\/deployments\/gpt-4o" must be an account's resource id, \/subscriptions\/<subscription>\/resourceGroups\/<group>\/providers\/Microsoft\.CognitiveServices\/accounts\/<name>/,
    );
  });

  it('does not say the model picker will be empty when the deployments are discovered', () => {
    expect(loadConfig({ AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com', AZURE_OPENAI_RESOURCE_ID: RESOURCE_ID }).notices).toEqual([]);
  });
});
