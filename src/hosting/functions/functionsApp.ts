/**
 * The proxy instance the Azure Functions share, made once per worker process from the app settings.
 *
 * Nothing here throws at import: every function file registers its function first, so the host indexes them
 * all, even when a setting is wrong. (An entry point that throws makes the worker index no function at all, and
 * the host then answers a bare 404 everywhere, with the reason only in the worker's output.) A bad setting makes
 * every request a 503 `proxy_not_ready` that names it, and is logged once, as an error. Loading App Configuration
 * is asynchronous: it starts when the app starts (the `appStart` hook), requests wait for it, and a store that
 * cannot be read (with no model map in the environment to start from) is answered 503 too, and tried again.
 */
import { app } from '@azure/functions';
import { ConfigError, type Environment } from '../../core/config/config';
import { createProxyFromEnvironment } from '../compose';
import { consoleLogger } from '../../core/logger';
import type { OpenAIProxy } from '../../core/proxy';
import { isOutsideFunctionsHost, setupFunctionsApp } from './azureFunctions';

/**
 * Azure's front end ends any HTTP response at 230 seconds, on every plan. The local host's limits (an attempt
 * waits up to 300 s for headers, no attempt starts after 600 s) would let it cut a waiting request before the
 * proxy's own OpenAI-shaped 504 goes out, so under Functions the defaults are below it. Settings still win.
 */
export const FUNCTIONS_DEFAULTS: Environment = {
  PROXY_ATTEMPT_TIMEOUT_SECONDS: '180',
  PROXY_DEADLINE_SECONDS: '200',
};
export const FRONT_END_LIMIT_SECONDS = 230;

/** The app settings, with the Functions defaults where a setting is unset or empty. */
export function functionsEnvironment(env: Environment): Environment {
  const layered: Record<string, string | undefined> = { ...env };
  for (const [name, value] of Object.entries(FUNCTIONS_DEFAULTS)) {
    if (layered[name] === undefined || layered[name]?.trim() === '') layered[name] = value;
  }
  return layered;
}

setupFunctionsApp();

const RETRY_AFTER_FAILURE_MS = 10_000;

interface Loading {
  proxy: Promise<OpenAIProxy>;
  /** When it failed; a failure of App Configuration is tried again, a bad setting is not. */
  failedAt?: number;
  permanent?: boolean;
}

let loading: Loading | undefined;

function load(): Promise<OpenAIProxy> {
  const underFunctions = !isOutsideFunctionsHost();
  const env = underFunctions ? functionsEnvironment(process.env) : process.env;
  const attempt: Loading = { proxy: createProxyFromEnvironment(env, { logger: consoleLogger }) };
  attempt.proxy.then(
    (proxy) => {
      const { deadlineMs } = proxy.config.routing;
      if (underFunctions && deadlineMs > FRONT_END_LIMIT_SECONDS * 1000) {
        consoleLogger.warn(
          `PROXY_DEADLINE_SECONDS is ${deadlineMs / 1000}: Azure's front end ends a response at ${FRONT_END_LIMIT_SECONDS} s, ` +
            'so a request still waiting then is cut without the proxy answering 504',
        );
      }
    },
    (error: unknown) => {
      attempt.failedAt = Date.now();
      attempt.permanent = error instanceof ConfigError;
      // Once per attempt: a bad setting is never tried again, a store at most every RETRY_AFTER_FAILURE_MS.
      if (underFunctions) consoleLogger.error('the proxy could not start', { reason: error instanceof Error ? error.message : String(error) });
    },
  );
  loading = attempt;
  return attempt.proxy;
}

export function functionsProxy(): Promise<OpenAIProxy> {
  const retry = loading?.failedAt !== undefined && loading.permanent !== true && Date.now() - loading.failedAt > RETRY_AFTER_FAILURE_MS;
  if (loading === undefined || retry) return load();
  return loading.proxy;
}

// Under the Functions host, start loading when the app has started rather than at the first request. (The
// local host loads it itself, and reports a failure by exiting.)
if (!isOutsideFunctionsHost()) {
  app.hook.appStart(() => {
    functionsProxy().catch(() => undefined);
  });
  // The worker is told to stop when Azure scales in or deploys: send the metrics still pending (at most a minute
  // of them) and stop refreshing from App Configuration.
  app.hook.appTerminate(async () => {
    const proxy = await loading?.proxy.catch(() => undefined);
    await proxy?.close();
  });
}
