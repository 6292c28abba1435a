/**
 * Azurite's Table service (Microsoft's Azure Storage emulator, from the npm registry) on loopback, started by the
 * tests themselves, in memory. Azurite needs Node.js 22 or later: under an older `node` it runs on the cached
 * official build that `npm test` uses for the deployed runtimes (scripts/nodeRuntimes.mjs).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** The repository: two levels up from test/support, three from its build in dist (the bench's). */
const ROOT = existsSync(join(__dirname, '..', '..', 'package.json')) ? join(__dirname, '..', '..') : join(__dirname, '..', '..', '..');
const MAIN = join(ROOT, 'node_modules', 'azurite', 'dist', 'src', 'table', 'main.js');
/** Azurite's well-known development account (public, in Microsoft's documentation). */
const ACCOUNT = 'devstoreaccount1';
const ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

function nodeForAzurite(): string {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  const script = `import(${JSON.stringify(join(ROOT, 'scripts', 'nodeRuntimes.mjs'))}).then((m) => process.stdout.write(JSON.stringify(m.nodeRuntime('22'))))`;
  const runtime = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as { bin?: string; error?: string };
  if (runtime.bin === undefined) throw new Error(`Azurite needs Node.js 22: ${runtime.error ?? 'none found'}`);
  return runtime.bin;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export class Azurite {
  private constructor(
    readonly port: number,
    readonly child: ChildProcess,
  ) {}

  static async start(port?: number): Promise<Azurite> {
    port ??= await freePort();
    const child = spawn(nodeForAzurite(), [MAIN, '--tableHost', '127.0.0.1', '--tablePort', String(port), '--inMemoryPersistence', '--skipApiVersionCheck', '--disableTelemetry', '--silent', '--loose'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 20_000;
    while (!/successfully (started|listening)/.test(output)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`Azurite did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return new Azurite(port, child);
  }

  /** A connection string for the development account, as PROXY_USAGE_TABLE_CONNECTION_STRING takes it. */
  get connectionString(): string {
    return this.connectionStringVia(`http://127.0.0.1:${this.port}`);
  }

  /** The same, for reaching it through something in between (a request counter): only the origin differs. */
  connectionStringVia(origin: string): string {
    return `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};TableEndpoint=${origin}/${ACCOUNT};`;
  }

  /** Starts it again on the same port, empty (in memory), as a store that comes back. */
  restart(): Promise<Azurite> {
    return Azurite.start(this.port);
  }

  /** Stops it (as an outage does). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}
