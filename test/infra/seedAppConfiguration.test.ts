/**
 * scripts/seedAppConfiguration.mjs, the post-provision step that writes the initial key-values, run as azd runs
 * it (a process with the template's outputs in its environment) against the App Configuration stand-in, which
 * the real SDK writes to with a managed-identity token from the identity stand-in. The store refuses writes (403)
 * until the deployer's role "takes effect", as Azure does for minutes after a role assignment.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfigurationStandIn } from '../support/appConfigurationStandIn';
import { ManagedIdentityStandIn } from '../support/managedIdentityStandIn';
import { childEnvironment } from '../support/proxyProcess';
import { makeTestCertificate, type TestCertificate } from '../support/tls';

const SCRIPT = join(__dirname, '..', '..', 'scripts', 'seedAppConfiguration.mjs');
const APP_CONFIGURATION = 'https://appconfig.azure.com';
const SEED = [
  { key: 'openai-proxy:model-map/gpt-4o', value: 'gpt-4o-prod', label: 'prod' },
  { key: 'openai-proxy:client-keys/alice', value: 'a'.repeat(64), label: 'prod' },
];

let identity: ManagedIdentityStandIn;
let store: AppConfigurationStandIn;
let certificate: TestCertificate;

beforeAll(async () => {
  certificate = makeTestCertificate();
  identity = await ManagedIdentityStandIn.start();
  store = await AppConfigurationStandIn.start({ tls: certificate, acceptBearer: (token) => ManagedIdentityStandIn.isTokenFor(token, APP_CONFIGURATION) });
});
afterAll(async () => {
  await store.close();
  await identity.close();
});

function seed(env: Record<string, string>, args: string[] = []): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [SCRIPT, ...args], {
    env: childEnvironment({ ...identity.environment(), NODE_EXTRA_CA_CERTS: certificate.certPath, ...env }),
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

describe('seeding App Configuration after provisioning', () => {
  it('waits for the role to take effect, then writes every key-value, with its label', async () => {
    store.forbidWrites = true;
    const done = seed({ APP_CONFIGURATION_ENDPOINT: store.url, APP_CONFIGURATION_SEED: JSON.stringify(SEED) });
    // The role takes effect once a write has been refused, however long the script took to start (not after a
    // fixed time: on a loaded machine the script's first write came after it, and nothing was refused).
    const refused = (): boolean => store.requests.some((r) => r.method === 'PUT' && r.status === 403);
    const lift = setInterval(() => {
      if (refused()) store.forbidWrites = false;
    }, 20);
    const { code, output } = await done.finally(() => clearInterval(lift));
    expect({ code, output }).toEqual({ code: 0, output: expect.stringContaining('2 key-value(s) written, 0 already') });
    expect(output).toContain('answers 403; waiting for the role assignment to take effect');
    expect(store.requests.some((r) => r.method === 'PUT' && r.status === 403)).toBe(true);
    expect(store.get('openai-proxy:model-map/gpt-4o', 'prod')?.value).toBe('gpt-4o-prod');
    expect(store.get('openai-proxy:client-keys/alice', 'prod')?.value).toBe('a'.repeat(64));
  }, 20_000);

  it('keeps what the store already holds (changed since), unless told to overwrite', async () => {
    store.set('openai-proxy:model-map/gpt-4o', 'changed-in-the-portal', { label: 'prod' });
    const kept = await seed({ APP_CONFIGURATION_ENDPOINT: store.url, APP_CONFIGURATION_SEED: JSON.stringify(SEED) });
    expect(kept).toEqual({ code: 0, output: expect.stringContaining('0 key-value(s) written, 2 already') });
    expect(store.get('openai-proxy:model-map/gpt-4o', 'prod')?.value).toBe('changed-in-the-portal');
    const replaced = await seed({ APP_CONFIGURATION_ENDPOINT: store.url, APP_CONFIGURATION_SEED: JSON.stringify(SEED) }, ['--overwrite']);
    expect(replaced.code).toBe(0);
    expect(store.get('openai-proxy:model-map/gpt-4o', 'prod')?.value).toBe('gpt-4o-prod');
  });

  it('reads the outputs `az deployment group show` prints, for a deployment made without azd', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'seed-')), 'outputs.json');
    const outputs = {
      FUNCTION_APP_NAME: { type: 'String', value: 'proxy-app' },
      APP_CONFIGURATION_ENDPOINT: { type: 'String', value: store.url },
      APP_CONFIGURATION_SEED: { type: 'Array', value: [{ key: 'openai-proxy:model-map/o3', value: 'o3-prod', label: '' }] },
    };
    writeFileSync(file, JSON.stringify(outputs));
    const { code, output } = await seed({}, [file]);
    expect({ code, output }).toEqual({ code: 0, output: expect.stringContaining('1 key-value(s) written') });
    expect(store.get('openai-proxy:model-map/o3')?.value).toBe('o3-prod');
  });

  it('gives up after its timeout with the role it needs, and fails the hook', async () => {
    store.forbidWrites = true;
    try {
      const { code, output } = await seed({ APP_CONFIGURATION_ENDPOINT: store.url, APP_CONFIGURATION_SEED: JSON.stringify(SEED), APP_CONFIGURATION_SEED_TIMEOUT_SECONDS: '1' });
      expect(code).toBe(1);
      expect(output).toContain('(403)');
      expect(output).toContain('App Configuration Data Owner');
    } finally {
      store.forbidWrites = false;
    }
  });

  it('says what is missing when run without the template outputs', async () => {
    const { code, output } = await seed({});
    expect(code).toBe(1);
    expect(output).toContain('APP_CONFIGURATION_ENDPOINT is not set');
  });
});
