// Writes the deployment's initial key-values (model map, client-key hashes, settings) into its App Configuration
// store: azd's postprovision hook, or by hand after `az deployment group create`.
//
// Why not in the Bicep template: the store takes key-values only from a principal holding a data-plane role, and
// the deployer's App Configuration Data Owner assignment, made in the same deployment, can take minutes to take
// effect. A template writing key-values then fails with Forbidden on a first deployment and works on the re-run.
// Here a 403 (or 401) is retried with back-off until the role applies, for up to
// APP_CONFIGURATION_SEED_TIMEOUT_SECONDS (default 900).
//
// A key-value already in the store is kept as it is (it may have been changed since, in the portal or with
// `az appconfig kv set`), unless --overwrite is given. Credentials: DefaultAzureCredential, which takes the
// signed-in azd or az user (or a service principal's environment in a pipeline).
//
//   node scripts/seedAppConfiguration.mjs                      reads azd's environment (the template's outputs)
//   node scripts/seedAppConfiguration.mjs outputs.json         reads `az deployment group show ... --query properties.outputs`
//   ... --overwrite                                            replaces values already in the store
import { readFileSync } from 'node:fs';
import { AppConfigurationClient } from '@azure/app-configuration';
import { DefaultAzureCredential } from '@azure/identity';

const args = process.argv.slice(2);
const overwrite = args.includes('--overwrite');
const outputsFile = args.find((a) => !a.startsWith('--'));

function fail(message) {
  console.error(`seed: ${message}`);
  process.exit(1);
}

/** The store's endpoint and the key-values to write, from the template's outputs. */
function readOutputs() {
  if (outputsFile !== undefined) {
    const outputs = JSON.parse(readFileSync(outputsFile, 'utf8'));
    const value = (name) => Object.entries(outputs).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1]?.value;
    return { endpoint: value('APP_CONFIGURATION_ENDPOINT'), seed: value('APP_CONFIGURATION_SEED') };
  }
  const raw = process.env.APP_CONFIGURATION_SEED;
  return { endpoint: process.env.APP_CONFIGURATION_ENDPOINT, seed: raw === undefined || raw === '' ? undefined : JSON.parse(raw) };
}

const { endpoint, seed } = readOutputs();
if (typeof endpoint !== 'string' || endpoint === '') {
  fail(outputsFile ? `${outputsFile} has no APP_CONFIGURATION_ENDPOINT output` : 'APP_CONFIGURATION_ENDPOINT is not set (run after provisioning, or pass the outputs file)');
}
if (!Array.isArray(seed) || seed.some((kv) => typeof kv?.key !== 'string' || typeof kv?.value !== 'string')) {
  fail('APP_CONFIGURATION_SEED must be the template output: a list of { key, value, label }');
}
const timeoutSeconds = Number(process.env.APP_CONFIGURATION_SEED_TIMEOUT_SECONDS ?? 900);
if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0) fail(`APP_CONFIGURATION_SEED_TIMEOUT_SECONDS: "${process.env.APP_CONFIGURATION_SEED_TIMEOUT_SECONDS}" is not a number of seconds`);

// The SDK's own retries are for throttling and transient faults; role propagation is handled below.
const client = new AppConfigurationClient(endpoint, new DefaultAzureCredential(), { retryOptions: { maxRetries: 2 } });
const deadline = Date.now() + timeoutSeconds * 1000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether an error means "not allowed yet" (a role still propagating), or that the store's name does not resolve yet. */
function isWorthWaiting(error) {
  return error?.statusCode === 403 || error?.statusCode === 401 || error?.code === 'ENOTFOUND' || error?.code === 'ECONNREFUSED';
}

async function writeOne({ key, value, label }) {
  const setting = { key, value, ...(label ? { label } : {}) };
  for (let attempt = 0; ; attempt++) {
    try {
      if (overwrite) {
        await client.setConfigurationSetting(setting);
        return 'written';
      }
      await client.addConfigurationSetting(setting);
      return 'written';
    } catch (error) {
      if (error?.statusCode === 412) return 'kept';
      const wait = Math.min(2000 * 1.5 ** attempt, 20_000);
      if (!isWorthWaiting(error) || Date.now() + wait > deadline) throw error;
      if (attempt === 0) {
        console.info(`seed: ${endpoint} answers ${error.statusCode ?? error.code}; waiting for the role assignment to take effect (up to ${timeoutSeconds} s)`);
      }
      await sleep(wait);
    }
  }
}

const counts = { written: 0, kept: 0 };
try {
  for (const kv of seed) counts[await writeOne(kv)] += 1;
} catch (error) {
  const status = error?.statusCode ?? error?.code ?? '';
  const hint =
    error?.statusCode === 403 || error?.statusCode === 401
      ? ' The signed-in principal needs App Configuration Data Owner on the store (the template grants it to the deployer); run this again once it applies.'
      : '';
  fail(`writing to ${endpoint} failed${status ? ` (${status})` : ''}: ${error?.message ?? error}.${hint}`);
}
console.info(`seed: ${counts.written} key-value(s) written, ${counts.kept} already in ${endpoint} kept${counts.kept > 0 && !overwrite ? ' (--overwrite replaces them)' : ''}`);
