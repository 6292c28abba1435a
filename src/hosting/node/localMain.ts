/**
 * `npm start`: the proxy on http://127.0.0.1:${PORT:-7071} without Azure Functions Core Tools. It composes the
 * proxy from the environment as the Functions app does (src/hosting/compose.ts) and serves the same route table
 * through the same core.
 *
 * With no AZURE_OPENAI_ENDPOINT it starts the bundled Azure OpenAI emulator on loopback and uses it as the
 * upstream, so `curl` works at once; it says so in one line.
 */
import { AzureOpenAIEmulator, EMULATOR_API_KEY } from '../../emulator/server';
import { createProxyFromEnvironment } from '../compose';
import { DEFAULT_LOCAL_HOST_LIMITS, startLocalHost, type LocalHostLimits } from './localHost';
import { AppConfigurationUnavailableError, ConfigError, consoleLogger } from '../../core';

export interface ListenAddress {
  host: string;
  port: number;
}

/** `AZURE_OPENAI_PROXY_ADDRESS` (the old image's `0.0.0.0:8080`) wins over `PORT`; loopback by default. */
export function listenAddress(env: NodeJS.ProcessEnv): ListenAddress {
  const address = env.AZURE_OPENAI_PROXY_ADDRESS?.trim();
  if (address !== undefined && address !== '') {
    const match = /^(.*):(\d+)$/.exec(address);
    if (match?.[1] === undefined || match[2] === undefined) {
      throw new ConfigError([`AZURE_OPENAI_PROXY_ADDRESS: "${address}" is not of the form host:port`]);
    }
    return { host: match[1].replace(/^\[|\]$/g, '') || '0.0.0.0', port: Number(match[2]) };
  }
  const port = Number(env.PORT ?? 7071);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError([`PORT: "${env.PORT}" is not a port number`]);
  return { host: '127.0.0.1', port };
}

const LIMIT_SETTINGS = {
  headersTimeoutMs: 'PROXY_HEADERS_TIMEOUT_SECONDS',
  requestTimeoutMs: 'PROXY_REQUEST_TIMEOUT_SECONDS',
  bodyIdleTimeoutMs: 'PROXY_BODY_IDLE_TIMEOUT_SECONDS',
  maxConnections: 'PROXY_MAX_CONNECTIONS',
} as const satisfies Record<keyof LocalHostLimits, string>;

/** The local host's limits from the environment (seconds, and a count), every bad one reported at once. */
export function localHostLimits(env: NodeJS.ProcessEnv): LocalHostLimits {
  const problems: string[] = [];
  const limits: LocalHostLimits = { ...DEFAULT_LOCAL_HOST_LIMITS };
  for (const [key, name] of Object.entries(LIMIT_SETTINGS) as Array<[keyof LocalHostLimits, string]>) {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0 || (key === 'maxConnections' && !Number.isInteger(value))) {
      problems.push(`${name}: "${raw}" is not a ${key === 'maxConnections' ? 'positive whole number' : 'positive number of seconds'}`);
      continue;
    }
    limits[key] = key === 'maxConnections' ? value : value * 1000;
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) problems.push('PROXY_HEADERS_TIMEOUT_SECONDS: must not be longer than PROXY_REQUEST_TIMEOUT_SECONDS');
  if (problems.length > 0) throw new ConfigError(problems);
  return limits;
}

async function main(): Promise<void> {
  const env = process.env;
  const address = listenAddress(env);
  const limits = localHostLimits(env);
  let emulator: AzureOpenAIEmulator | undefined;
  if ((env.AZURE_OPENAI_PROXY_MODE ?? 'azure') === 'azure' && !env.AZURE_OPENAI_ENDPOINT) {
    emulator = await AzureOpenAIEmulator.start({ chunkDelayMs: Number(env.EMULATOR_CHUNK_DELAY_MS ?? 20) });
    env.AZURE_OPENAI_ENDPOINT = emulator.url;
    // List the emulator's deployments on /v1/models, unless a map was given.
    env.AZURE_OPENAI_MODEL_MAPPER ??= emulator.deployments.map((d) => `${d.name}=${d.name}`).join(',');
    console.info(
      `No AZURE_OPENAI_ENDPOINT set: using the bundled Azure OpenAI emulator at ${emulator.url} ` +
        `(send the API key "${EMULATOR_API_KEY}"; set AZURE_OPENAI_ENDPOINT to use Azure).`,
    );
  }

  // Composed from the final environment, as under the Functions host (without its timeouts: no front end here).
  const proxy = await createProxyFromEnvironment(env, { logger: consoleLogger });
  const host = await startLocalHost({ proxy, ...address, limits });
  const { config } = proxy;
  const upstream = config.mode === 'openai' ? config.openai.baseUrl : config.azure.endpoint;
  console.info(`Azure OpenAI proxy listening on ${host.url}/v1 (upstream ${upstream})`);

  const stop = (signal: NodeJS.Signals): void => {
    // Streams in flight are cut: say so, and do not wait on anything for more than a second.
    setTimeout(() => process.exit(0), 1000).unref();
    void Promise.all([host.close(), proxy.close(), emulator?.close()]).then(() => {
      console.info(`Azure OpenAI proxy stopped (${signal})`);
      process.exit(0);
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    const known = error instanceof ConfigError || error instanceof AppConfigurationUnavailableError;
    console.error(known ? error.message : `Failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
