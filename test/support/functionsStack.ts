/**
 * The app under the stand-in Functions host (test/support/functionsHost): the built function files loaded by the
 * stand-in worker in a process of its own, running the real `@azure/functions` library with HTTP streams on.
 * `npm test` builds the app and the stand-in first.
 */
import { FunctionsHost, type HostLog } from './functionsHost/host';
import { childEnvironment } from './proxyProcess';
import { waitFor } from './stack';

export interface FunctionsStack {
  host: FunctionsHost;
  /** The app's OpenAI base URL, `http://127.0.0.1:port/v1`. */
  baseURL: string;
  close(): Promise<void>;
}

export async function startFunctionsStack(env: Record<string, string>, options: { activityTimeoutMs?: number; appDirectory?: string } = {}): Promise<FunctionsStack> {
  const host = await FunctionsHost.start({ env: childEnvironment(env), ...options });
  return { host, baseURL: `${host.url}/v1`, close: () => host.close() };
}

/** The request lines the app logged, as the host received them (RpcLogs of an invocation). */
export function requestLines(host: FunctionsHost): HostLog[] {
  return host.logs.filter((log) => log.invocationId !== undefined && log.message.startsWith('request '));
}

/** The request line of one invocation, once the host has it (it is written when the body ends). */
export async function requestLineOf(host: FunctionsHost, invocationId: string): Promise<HostLog> {
  const find = (): HostLog | undefined => requestLines(host).find((log) => log.invocationId === invocationId);
  await waitFor(() => find() !== undefined, 2000, `the request line of invocation ${invocationId}`);
  return find() as HostLog;
}

/** The fields of a request line (`request {json}`). */
export function requestRecord(log: HostLog): Record<string, unknown> {
  return JSON.parse(log.message.slice('request '.length)) as Record<string, unknown>;
}
