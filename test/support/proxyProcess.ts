/**
 * The proxy as `npm start` runs it, in a process of its own (from the build; `npm test` builds first), for the
 * tests that need a process environment of their own (managed identity, extra CA certificates) or its memory.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ENTRY = join(__dirname, '..', '..', 'dist', 'src', 'hosting', 'node', 'localMain.js');

/** This machine's environment without any setting the proxy or @azure/identity would read, plus `extra`. */
export function childEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(AZURE_|PROXY_|OPENAI_|IDENTITY_|MSI_|IMDS_|EMULATOR_|PORT$|NODE_EXTRA_CA_CERTS$)/.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

export interface ProxyProcess {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  exited: Promise<number | null>;
  /**
   * Resolves with the output once `text` is in it `times` times: request lines are written a few ms after
   * their response ends.
   */
  outputContaining(text: string, times?: number, timeoutMs?: number): Promise<string>;
  /** Resolves with the proxy's base URL (`http://127.0.0.1:port/v1`) once it listens. */
  listening(timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

export function runProxyProcess(env: Record<string, string>): ProxyProcess {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run "npm run build" first (npm test does)`);
  const child = spawn(process.execPath, [ENTRY], { env: childEnvironment(env) });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return {
    child,
    output: () => output,
    exited,
    async outputContaining(text, times = 1, timeoutMs = 2000) {
      const started = Date.now();
      while (output.split(text).length - 1 < times) {
        if (Date.now() - started > timeoutMs) throw new Error(`the proxy did not write "${text}" ${times} times within ${timeoutMs} ms:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return output;
    },
    async listening(timeoutMs = 15_000) {
      const started = Date.now();
      for (;;) {
        const match = /listening on (http:\/\/\S+\/v1)/.exec(output);
        if (match?.[1] !== undefined) return match[1];
        if (child.exitCode !== null || Date.now() - started > timeoutMs) throw new Error(`the proxy did not start:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
