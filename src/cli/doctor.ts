/**
 * `npm run doctor`: checks a configuration the way the proxy will use it, and prints a short checklist, each line
 * passed, failed (with the fix) or skipped. Exit code 0 only when nothing failed, so a deployment pipeline can run it.
 *
 *   settings        every setting valid (as at start-up), and what the proxy made of them
 *   App Configuration  readable, when one is configured
 *   endpoint        Azure OpenAI answers at the endpoint
 *   credential      the proxy's credential is accepted (managed identity: a token; key: the key; passthrough: none)
 *   api-versions    every family's version is one Azure has
 *   discovery       Resource Manager lists the account's deployments (AZURE_OPENAI_RESOURCE_ID), with the app's identity
 *   deployments     each mapped or discovered deployment exists and answers, with --call only: one request each, max_tokens 1
 *
 * In passthrough mode the proxy holds no key: the checks that call Azure use AZURE_OPENAI_DOCTOR_KEY when set.
 */
import { request } from 'undici';
import { managedIdentityTokens } from '../adapters/azure/identity';
import { appConfigurationReader } from '../adapters/azure/appConfiguration';
import {
  assembleConfig,
  checkEnvironment,
  ConfigError,
  createUpstreamCredentials,
  deploymentTarget,
  describeDeployment,
  discoveryFix,
  resourceManagerDeployments,
  resourceManagerScope,
  primaryBackend,
  resourceUrl,
  StoreConfigSource,
  type Backend,
  type Environment,
  type Logger,
  type ProxyConfig,
} from '../core';

export interface Check {
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  detail: string;
  /** What to do about a failure. */
  fix?: string;
}

export interface DoctorOptions {
  /** Send one tiny request to each mapped deployment. */
  call: boolean;
  /** How long a call to Azure may take. */
  timeoutMs?: number;
}

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A failed check from what was thrown, with its fix. */
function failure(name: string, error: unknown, fix: string): Check {
  const detail = error instanceof ConfigError ? error.problems.join('; ') : error instanceof Error ? error.message : String(error);
  return { name, status: 'failed', detail, fix };
}

/** Every check, in order; later ones are skipped when what they need failed. */
export async function runDoctor(env: Environment, options: DoctorOptions): Promise<Check[]> {
  const checks: Check[] = [];
  let config: ProxyConfig;
  try {
    const store = checkEnvironment(env);
    if (store === undefined) config = assembleConfig(env);
    else {
      try {
        const source = await StoreConfigSource.start(env, { ...store, startupTimeoutSeconds: Math.min(store.startupTimeoutSeconds, 10) }, { logger: quiet, reader: appConfigurationReader(store) });
        config = source.current();
        await source.close();
        checks.push({ name: 'App Configuration', status: 'passed', detail: `read ${config.azure.modelMap.size} mapped models and ${config.clientKeys.length} client keys` });
      } catch (error) {
        checks.push({ name: 'settings', status: 'passed', detail: 'the app settings are valid' });
        checks.push(failure('App Configuration', error, "check AZURE_APPCONFIG_ENDPOINT and the identity's App Configuration Data Reader role"));
        return checks;
      }
    }
  } catch (error) {
    checks.push(failure('settings', error, 'correct the settings named (README, "Configuration")'));
    return checks;
  }
  checks.unshift({ name: 'settings', status: 'passed', detail: config.notices.length === 0 ? 'valid' : `valid; ${config.notices.join('; ')}` });
  if (config.mode !== 'azure') {
    checks.push({ name: 'endpoint', status: 'skipped', detail: 'forward mode (OPENAI_BASE_URL): nothing of Azure to check' });
    return checks;
  }

  // The settings check has refused any api-version Azure has not published (assembleConfig): what is left is
  // each family's, to see.
  checks.push({ name: 'api-versions', status: 'passed', detail: Object.entries(config.azure.apiVersions).map(([family, v]) => `${family} ${v}`).join(', ') });

  const tokens = managedIdentityTokens(config.azure.managedIdentityClientId);
  const discovery = config.azure.discovery;
  if (discovery === undefined) {
    checks.push({ name: 'discovery', status: 'skipped', detail: "AZURE_OPENAI_RESOURCE_ID is not set: only mapped models and deployment names are served" });
  } else {
    const { resourceManagerEndpoint: endpoint, resourceId } = discovery;
    try {
      const deployments = await resourceManagerDeployments({ endpoint, resourceId, token: () => tokens(resourceManagerScope(endpoint)).get(), timeoutMs: options.timeoutMs ?? 15_000 }).list();
      config = { ...config, azure: { ...config.azure, modelMap: config.azure.modelMap.withDiscovered(deployments) } };
      const named = deployments.map(describeDeployment);
      checks.push({ name: 'discovery', status: 'passed', detail: `${endpoint} lists ${deployments.length} deployment${deployments.length === 1 ? '' : 's'}${named.length === 0 ? '' : `: ${named.join(', ')}`}` });
    } catch (error) {
      checks.push(failure('discovery', error, discoveryFix(error)));
    }
  }

  // The credential, as the proxy would send it.
  const doctorKey = env.AZURE_OPENAI_DOCTOR_KEY;
  const credentials = createUpstreamCredentials(tokens);
  if (config.azure.auth === 'passthrough' && doctorKey === undefined) {
    checks.push({ name: 'endpoint', status: 'skipped', detail: 'passthrough: callers bring their keys; set AZURE_OPENAI_DOCTOR_KEY to check with one' });
    checks.push({ name: 'deployments', status: 'skipped', detail: 'needs a key (AZURE_OPENAI_DOCTOR_KEY) in passthrough' });
    return checks;
  }
  let headers: Record<string, string>;
  try {
    headers = await credentials.headers(config, { passthroughKey: doctorKey ?? '' });
  } catch (error) {
    checks.push(failure('credential', error, 'give the app a managed identity, or set AZURE_CLIENT_ID to the user-assigned one'));
    return checks;
  }
  const timeoutMs = options.timeoutMs ?? 15_000;
  const call = async (url: string, body?: unknown): Promise<{ status: number; code?: string } | { error: string }> => {
    try {
      const answer = await request(url, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = await answer.body.text();
      let code: string | undefined;
      try {
        code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
      } catch {
        code = undefined;
      }
      return { status: answer.statusCode, ...(code !== undefined && { code }) };
    } catch (error) {
      return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
    }
  };

  const models = await call(resourceUrl(config.azure, 'files', '/models', new URLSearchParams()));
  if ('error' in models) {
    checks.push({ name: 'endpoint', status: 'failed', detail: `${config.azure.endpoint}: ${models.error}`, fix: 'check AZURE_OPENAI_ENDPOINT (the resource endpoint, https://<name>.openai.azure.com) and the network' });
    return checks;
  }
  checks.push({ name: 'endpoint', status: 'passed', detail: `${config.azure.endpoint} answers` });
  if (models.status === 401 || models.status === 403) {
    checks.push({
      name: 'credential',
      status: 'failed',
      detail: `Azure answered ${models.status}${models.code === undefined ? '' : ` ${models.code}`} to the ${config.azure.auth} credential`,
      fix: config.azure.auth === 'managed-identity' ? "grant the identity Cognitive Services OpenAI User on the resource (it can take minutes to apply)" : 'check the key',
    });
    return checks;
  }
  checks.push({ name: 'credential', status: 'passed', detail: `${config.azure.auth} accepted` });

  const { modelMap } = config.azure;
  // Each mapped model's first backend, then each discovered deployment no mapped model has already reached.
  const targets: Array<[model: string, backend: Backend]> = [...modelMap.targets].map(([model, target]) => [model, primaryBackend(target)]);
  const reached = new Set(targets.filter(([, b]) => b.endpoint === undefined).map(([, b]) => b.deployment));
  for (const deployment of modelMap.discovered) if (!reached.has(deployment.name)) targets.push([deployment.name, { deployment: deployment.name, priority: 1, weight: 1 }]);
  if (!options.call) {
    const discovered = modelMap.discovered.length === 0 ? '' : `, ${modelMap.discovered.length} discovered`;
    checks.push({ name: 'deployments', status: 'skipped', detail: `${modelMap.size} mapped${discovered}; run with --call to send each one request (max_tokens 1)` });
    return checks;
  }
  const missing: string[] = [];
  const found: string[] = [];
  for (const [model, backend] of targets) {
    const { url, bodyModel } = deploymentTarget(config.azure, 'inference', 'chat/completions', backend);
    const answer = await call(url, { model: bodyModel ?? model, max_tokens: 1, messages: [{ role: 'user', content: 'ping' }] });
    // Any answer but "no such deployment" proves it exists (an embeddings deployment refuses chat with a 400).
    if ('error' in answer || (answer.status === 404 && answer.code === 'DeploymentNotFound')) missing.push(`${model} → ${backend.deployment}`);
    else found.push(model);
  }
  checks.push(
    missing.length === 0
      ? { name: 'deployments', status: 'passed', detail: `${found.length} answer: ${found.join(', ')}` }
      : { name: 'deployments', status: 'failed', detail: `not found: ${missing.join(', ')}`, fix: 'map each model to a deployment the resource has (AZURE_OPENAI_MODEL_MAPPER or model-map/ in App Configuration)' },
  );
  return checks;
}

const MARKS = { passed: '✓', failed: '✗', skipped: '-' } as const;

export function formatChecks(checks: readonly Check[]): string {
  return checks.map((c) => `${MARKS[c.status]} ${c.name}: ${c.detail}${c.fix === undefined ? '' : `\n    fix: ${c.fix}`}`).join('\n');
}

if (require.main === module) {
  runDoctor(process.env, { call: process.argv.includes('--call') }).then(
    (checks) => {
      console.info(formatChecks(checks));
      process.exitCode = checks.some((c) => c.status === 'failed') ? 1 : 0;
    },
    (error: unknown) => {
      console.error(`doctor failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 2;
    },
  );
}
