/**
 * The proxy instance the Azure Functions share, configured from the app settings once per process. A bad app
 * setting throws here, when the host loads the functions, so a misconfigured app refuses to start instead of
 * failing each request. Loading App Configuration is asynchronous: it starts here too, requests wait for it,
 * and if the store cannot be read (with no model map in the environment to start from) requests are answered
 * 503 with the reason while the load is retried.
 */
import { checkEnvironment } from '../core/config';
import { createProxyFromEnvironment } from '../core/fromEnvironment';
import { consoleLogger } from '../core/logger';
import type { OpenAIProxy } from '../core/proxy';
import { isOutsideFunctionsHost, setupFunctionsApp } from './azureFunctions';

setupFunctionsApp();

// Only a missing endpoint may wait for App Configuration to supply it.
checkEnvironment(process.env);

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
