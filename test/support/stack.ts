/** Starts the Azure OpenAI emulator and the proxy (core + local host) on loopback for one test file. */
import { loadConfig, type Environment } from '../../src/core/config/config';
import { formatLogLine, type Logger } from '../../src/core/logger';
import { createProxy, type OpenAIProxy, type ProxyOptions } from '../../src/core/proxy';
import { AzureOpenAIEmulator, type EmulatorOptions } from '../../src/emulator/server';
import { startLocalHost, type LocalHost } from '../../src/hosting/node/localHost';

export interface Stack {
  emulator: AzureOpenAIEmulator;
  proxy: OpenAIProxy;
  host: LocalHost;
  /** The proxy's OpenAI base URL, `http://127.0.0.1:port/v1`. */
  baseURL: string;
  /** Every line the proxy logged. */
  logs: string[];
  close(): Promise<void>;
}

export function capturingLogger(lines: string[]): Logger {
  return {
    info: (message, fields) => lines.push(`info ${formatLogLine(message, fields)}`),
    warn: (message, fields) => lines.push(`warn ${formatLogLine(message, fields)}`),
    error: (message, fields) => lines.push(`error ${formatLogLine(message, fields)}`),
  };
}

export async function startStack(options: { env?: Environment; emulator?: EmulatorOptions; proxy?: ProxyOptions } = {}): Promise<Stack> {
  const emulator = await AzureOpenAIEmulator.start(options.emulator);
  const logs: string[] = [];
  const proxy = createProxy(loadConfig({ AZURE_OPENAI_ENDPOINT: emulator.url, ...options.env }), {
    logger: capturingLogger(logs),
    ...options.proxy,
  });
  const host = await startLocalHost({ proxy });
  return {
    emulator,
    proxy,
    host,
    baseURL: `${host.url}/v1`,
    logs,
    close: async () => {
      await host.close();
      await emulator.close();
    },
  };
}

export interface RunningProxy {
  proxy: OpenAIProxy;
  host: LocalHost;
  baseURL: string;
  logs: string[];
  close(): Promise<void>;
}

/** The proxy (core + local host) for an environment of the test's choosing, logging into `logs`. */
export async function startProxy(env: Environment): Promise<RunningProxy> {
  const logs: string[] = [];
  const proxy = createProxy(loadConfig(env), { logger: capturingLogger(logs) });
  const host = await startLocalHost({ proxy });
  return { proxy, host, baseURL: `${host.url}/v1`, logs, close: () => host.close() };
}

/** Resolves when `predicate` holds, polling every 10 ms, or rejects after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - started;
}
