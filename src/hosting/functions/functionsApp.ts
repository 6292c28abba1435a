/**
 * The Azure Functions app, composed once per worker process: the first function file the worker loads calls
 * `registerRoute` (or `registerCatchAll`), which sets the app up (HTTP streams, the appStart and appTerminate
 * hooks) before registering; the proxy itself is made from the app settings when the app starts.
 *
 * Nothing here throws at import or registration: every function file registers its function, so the host indexes
 * them all, even when a setting is wrong. (An entry point that throws makes the worker index no function at all,
 * and the host then answers a bare 404 everywhere, with the reason only in the worker's output.) A bad setting
 * makes every request a 503 `proxy_not_ready` that names it, and is logged once, as an error. Loading App
 * Configuration is asynchronous: it starts when the app starts (the `appStart` hook), requests wait for it, and a
 * store that cannot be read (with no model map in the environment to start from) is answered 503 too, and tried
 * again.
 */
import { app } from '@azure/functions';
import { createProxyFromEnvironment } from '../compose';
import { registerCatchAllFunction, registerRouteFunction, setupFunctionsApp } from './azureFunctions';
import { ConfigError, consoleLogger, type Environment, type OpenAIProxy } from '../../core';

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

const RETRY_AFTER_FAILURE_MS = 10_000;

interface Loading {
  proxy: Promise<OpenAIProxy>;
  /** When it failed; a failure of App Configuration is tried again, a bad setting is not. */
  failedAt?: number;
  permanent?: boolean;
}

/** The worker's one app: its proxy, once loading has started. */
interface FunctionsApp {
  loading?: Loading;
}

let composed: FunctionsApp | undefined;

function load(state: FunctionsApp): Promise<OpenAIProxy> {
  const attempt: Loading = { proxy: createProxyFromEnvironment(functionsEnvironment(process.env), { logger: consoleLogger }) };
  attempt.proxy.then(
    (proxy) => {
      const { deadlineMs } = proxy.config.routing;
      if (deadlineMs > FRONT_END_LIMIT_SECONDS * 1000) {
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
      consoleLogger.error('the proxy could not start', { reason: error instanceof Error ? error.message : String(error) });
    },
  );
  state.loading = attempt;
  return attempt.proxy;
}

/** The proxy every function serves with: made on first use, made again after a failure that may pass. */
function proxyOf(state: FunctionsApp): Promise<OpenAIProxy> {
  const { loading } = state;
  const retry = loading?.failedAt !== undefined && loading.permanent !== true && Date.now() - loading.failedAt > RETRY_AFTER_FAILURE_MS;
  if (loading === undefined || retry) return load(state);
  return loading.proxy;
}

/** Sets the app up once: HTTP streams, and loading the proxy when the app starts rather than at the first request. */
function functionsApp(): FunctionsApp {
  if (composed !== undefined) return composed;
  const state: FunctionsApp = {};
  composed = state;
  setupFunctionsApp();
  app.hook.appStart(() => {
    proxyOf(state).catch(() => undefined);
  });
  // The worker is told to stop when Azure scales in or deploys: send the metrics still pending (at most a minute
  // of them) and stop refreshing from App Configuration.
  app.hook.appTerminate(async () => {
    const proxy = await state.loading?.proxy.catch(() => undefined);
    await proxy?.close();
  });
  return state;
}

/** Registers the function of one route-table entry (what each file in src/functions does). */
export function registerRoute(name: string): void {
  const state = functionsApp();
  registerRouteFunction(name, () => proxyOf(state));
}

/** Registers the catch-all function. */
export function registerCatchAll(): void {
  const state = functionsApp();
  registerCatchAllFunction(() => proxyOf(state));
}
