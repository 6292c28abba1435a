/**
 * `npm start`'s entry point, run as a process from the build (`npm test` builds first): with no endpoint it
 * starts the emulator and serves at once; a bad configuration stops it with a message that names the setting.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';

const ENTRY = join(__dirname, '..', '..', 'dist', 'src', 'hosting', 'localMain.js');

/** A child environment without any proxy setting of this machine. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(AZURE_|PROXY_|OPENAI_|PORT$)/.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

function run(env: Record<string, string>): { child: ChildProcessWithoutNullStreams; output: () => string; exited: Promise<number | null> } {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run "npm run build" first (npm test does)`);
  const child = spawn(process.execPath, [ENTRY], { env: cleanEnv(env) });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, output: () => output, exited };
}

async function waitForLine(output: () => string, pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
  const started = Date.now();
  for (;;) {
    const match = pattern.exec(output());
    if (match !== null) return match;
    if (Date.now() - started > timeoutMs) throw new Error(`no line matching ${pattern} in:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('npm start', () => {
  it('serves the SDK at once through the bundled emulator, and says so', async () => {
    const { child, output, exited } = run({ PORT: '0', EMULATOR_CHUNK_DELAY_MS: '0' });
    try {
      const [, url] = await waitForLine(output, /listening on (http:\/\/127\.0\.0\.1:\d+\/v1)/);
      expect(output()).toMatch(/No AZURE_OPENAI_ENDPOINT set: using the bundled Azure OpenAI emulator at http:\/\/127\.0\.0\.1:\d+/);
      expect(output()).not.toMatch(/test mode/);
      const client = new OpenAI({ apiKey: 'emulator-key', baseURL: url, maxRetries: 0 });
      const completion = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] });
      expect(completion.choices[0]?.message.content).toContain('You said: hello');
      const models = await client.models.list();
      expect(models.data.map((m) => m.id)).toContain('gpt-4.1');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('listens where AZURE_OPENAI_PROXY_ADDRESS says, as the old image did', async () => {
    const { child, output, exited } = run({ AZURE_OPENAI_PROXY_ADDRESS: '127.0.0.1:0' });
    try {
      await waitForLine(output, /listening on http:\/\/127\.0\.0\.1:\d+\/v1/);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });

  it.each([
    [{ AZURE_OPENAI_MODEL_MAPPER: 'gpt-4o=a,oops' }, /AZURE_OPENAI_MODEL_MAPPER: entry 2 "oops" is not of the form model=deployment/],
    [{ AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com', AZURE_OPENAI_TOKEN: 'held-azure-key' }, /set PROXY_API_KEYS/],
    [{ AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com', AZURE_OPENAI_API_VER: 'latest' }, /AZURE_OPENAI_API_VER: must look like 2024-10-21/],
  ])('refuses to start with %j', async (env, message) => {
    const { output, exited } = run({ PORT: '0', ...env });
    expect(await exited).toBe(1);
    expect(output()).toMatch(message);
    expect(output()).not.toContain('held-azure-key');
    expect(output()).not.toMatch(/\n\s+at /); // no stack trace
  });
});
