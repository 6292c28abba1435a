/**
 * The proxy instance the Azure Functions share, configured from the app settings once per process. A bad app
 * setting throws here, when the host loads the functions, so a misconfigured app refuses to start instead of
 * failing each request. Loading App Configuration is asynchronous: it starts here too, requests wait for it,
 * and if the store cannot be read (with no model map in the environment to start from) requests are answered
 * 503 with the reason while the load is retried.
 */
import { assembleConfig, ConfigError } from '../core/config';
import { createProxyFromEnvironment } from '../core/fromEnvironment';
import { consoleLogger } from '../core/logger';
import type { OpenAIProxy } from '../core/proxy';
import { isOutsideFunctionsHost, setupFunctionsApp } from './azureFunctions';

setupFunctionsApp();

/** Checks the app settings now; only a missing endpoint may wait for App Configuration to supply it. */
function checkEnvironment(): void {
  try {
    assembleConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const storeConfigured = Boolean(process.env.AZURE_APPCONFIG_ENDPOINT || process.env.AZURE_APPCONFIG_CONNECTION_STRING);
    const problems = storeConfigured ? error.problems.filter((p) => !p.startsWith('AZURE_OPENAI_ENDPOINT: required')) : error.problems;
    if (problems.length > 0) throw new ConfigError(problems);
  }
}

checkEnvironment();

const RETRY_AFTER_FAILURE_MS = 10_000;
let loading: { proxy: Promise<OpenAIProxy>; failedAt?: number } | undefined;

function load(): Promise<OpenAIProxy> {
  const attempt: { proxy: Promise<OpenAIProxy>; failedAt?: number } = {
    proxy: createProxyFromEnvironment(process.env, { logger: consoleLogger }),
  };
  attempt.proxy.catch(() => {
    attempt.failedAt = Date.now();
  });
  loading = attempt;
  return attempt.proxy;
}

export function functionsProxy(): Promise<OpenAIProxy> {
  if (loading === undefined || (loading.failedAt !== undefined && Date.now() - loading.failedAt > RETRY_AFTER_FAILURE_MS)) return load();
  return loading.proxy;
}

// Start loading as the host loads the functions, not at the first request. (The local host reports a failure
// itself, and exits.)
functionsProxy().catch((error: unknown) => {
  if (!isOutsideFunctionsHost()) consoleLogger.error('the proxy could not start', { reason: error instanceof Error ? error.message : String(error) });
});
