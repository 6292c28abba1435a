/**
 * `npm run doctor` against the emulator and the identity stand-in: a good configuration passes every check; each
 * kind of fault fails its own check with the fix (bad setting, unreachable endpoint, refused credential, missing
 * deployment, unpublished api-version), and the exit code says so.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { runDoctor, type Check } from '../../src/cli/doctor';
import { AzureOpenAIEmulator, EMULATOR_API_KEY } from '../../src/emulator/server';
import { ManagedIdentityStandIn } from '../support/managedIdentityStandIn';
import { childEnvironment } from '../support/proxyProcess';
import { ResourceManagerStandIn } from '../support/resourceManagerStandIn';

const DOCTOR = join(__dirname, '..', '..', 'dist', 'src', 'cli', 'doctor.js');
const COGNITIVE_SERVICES = 'https://cognitiveservices.azure.com';

let emulator: AzureOpenAIEmulator;
let identity: ManagedIdentityStandIn;
beforeAll(async () => {
  identity = await ManagedIdentityStandIn.start();
  emulator = await AzureOpenAIEmulator.start({ acceptBearer: (token) => ManagedIdentityStandIn.isTokenFor(token, COGNITIVE_SERVICES) });
});
afterAll(async () => {
  await emulator.close();
  await identity.close();
});

/** `npm run doctor` in a process of its own, whose environment points @azure/identity at the stand-in. */
const run = (env: Record<string, string>, args: string[] = []): Promise<{ code: number | null; output: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [DOCTOR, ...args], { env: childEnvironment(env) });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });

const byName = (checks: Check[]): Record<string, Check['status']> => Object.fromEntries(checks.map((c) => [c.name, c.status]));
const keyed = (): Record<string, string> => ({ AZURE_OPENAI_ENDPOINT: emulator.url, AZURE_OPENAI_AUTH: 'key', AZURE_OPENAI_TOKEN: EMULATOR_API_KEY, PROXY_API_KEYS: 'k' });

describe('npm run doctor', () => {
  it('passes a good configuration, calling each deployment only when asked', async () => {
    const env = { ...keyed(), AZURE_OPENAI_MODEL_MAPPER: 'gpt-4o=gpt-4o,embeddings=text-embedding-3-small' };
    expect(byName(await runDoctor(env, { call: false }))).toEqual({ settings: 'passed', 'api-versions': 'passed', discovery: 'skipped', endpoint: 'passed', credential: 'passed', deployments: 'skipped' });
    const before = emulator.requests.length;
    expect(byName(await runDoctor(env, { call: true })).deployments).toBe('passed');
    expect(emulator.requests.slice(before).filter((r) => r.path.includes('/deployments/'))).toHaveLength(2);
  });

  it.each([
    ['a bad setting', { PROXY_MAX_ATTEMPTS: 'three' }, 'settings'],
    ['an unpublished api-version', { AZURE_OPENAI_API_VERSION: '2024-10-22' }, 'settings'],
    ['a wrong key', { AZURE_OPENAI_TOKEN: 'wrong' }, 'credential'],
    ['a deployment the resource does not have', { AZURE_OPENAI_MODEL_MAPPER: 'gpt-4o=no-such-deployment' }, 'deployments'],
    ['an endpoint nobody answers at', { AZURE_OPENAI_ENDPOINT: 'http://127.0.0.1:9' }, 'endpoint'],
  ])('fails %s in its own check, with the fix', async (_what, change, failing) => {
    const checks = await runDoctor({ ...keyed(), AZURE_OPENAI_MODEL_MAPPER: 'gpt-4o=gpt-4o', ...change }, { call: true, timeoutMs: 2000 });
    const failed = checks.filter((c) => c.status === 'failed');
    expect(failed.map((c) => c.name)).toEqual([failing]);
    expect(failed[0]?.fix).toBeTruthy();
  });

  it('checks the managed identity as the proxy would, and exits 0 only when everything passed', async () => {
    const env = { AZURE_OPENAI_ENDPOINT: emulator.url, AZURE_OPENAI_AUTH: 'managed-identity', PROXY_API_KEYS: 'k', AZURE_OPENAI_MODEL_MAPPER: 'gpt-4o=gpt-4o', ...identity.environment() };
    const good = await run(env);
    expect(good).toEqual({ code: 0, output: expect.stringContaining('✓ credential: managed-identity accepted') });
    const bad = await run({ ...env, AZURE_OPENAI_MODEL_MAPPER: 'gpt-4o=gpt-4o', PROXY_MAX_ATTEMPTS: '0' });
    expect(bad.code).toBe(1);
    expect(bad.output).toContain('✗ settings: PROXY_MAX_ATTEMPTS: "0" is not a whole number above 0');
  }, 20_000);

  it("lists the account's deployments with the identity, calls each with --call, and says which role to grant when refused", async () => {
    const account = ResourceManagerStandIn.accountId('doctor-account');
    const arm = await ResourceManagerStandIn.start({ acceptBearer: (token) => ManagedIdentityStandIn.isTokenFor(token, arm.url) });
    try {
      arm.setDeployments(account, [ResourceManagerStandIn.deployment(account, 'gpt-4o-mini', 'gpt-4o-mini', '2024-07-18'), ResourceManagerStandIn.deployment(account, 'tts', 'tts', '001')]);
      const env = {
        AZURE_OPENAI_ENDPOINT: emulator.url,
        AZURE_OPENAI_AUTH: 'managed-identity',
        PROXY_API_KEYS: 'k',
        AZURE_OPENAI_MODEL_MAPPER: 'gpt-4o=gpt-4o',
        AZURE_OPENAI_RESOURCE_ID: account,
        AZURE_RESOURCE_MANAGER_ENDPOINT: arm.url,
        ...identity.environment(),
      };
      const before = emulator.requests.length;
      const good = await run(env, ['--call']);
      expect(good.code).toBe(0);
      expect(good.output).toContain(`✓ discovery: ${arm.url} lists 2 deployments: gpt-4o-mini (gpt-4o-mini 2024-07-18), tts (tts 001)`);
      expect(good.output).toContain('✓ deployments: 3 answer: gpt-4o, gpt-4o-mini, tts');
      expect(emulator.requests.slice(before).map((r) => /\/deployments\/([^/]+)\//.exec(r.path)?.[1]).filter(Boolean)).toEqual(['gpt-4o', 'gpt-4o-mini', 'tts']);
      arm.forbid = true;
      const refused = await run(env);
      expect(refused.code).toBe(1);
      expect(refused.output).toMatch(/✗ discovery: Resource Manager answered 403 AuthorizationFailed: .*\n {4}fix: grant the app's identity a role with Microsoft\.CognitiveServices\/accounts\/deployments\/read/);
    } finally {
      await arm.close();
    }
  }, 30_000);
});
