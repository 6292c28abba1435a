/**
 * What the deployment costs, for `npm run bench`: the size of the package Azure fetches on every cold start
 * (scripts/package.mjs, zipped as azd and Core Tools zip it), the time and memory for the Functions worker to load
 * every function from it (the stand-in worker, as the bench's Functions path), beside the unbundled build; and the
 * HTTP concurrency per instance those and the bench's stream figures support (infra `perInstanceConcurrency`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { FunctionsHost } from '../test/support/functionsHost/host';
import type { AppLoad } from '../test/support/functionsHost/protocol';

export interface PackageSize {
  files: number;
  bytes: number;
  zippedBytes: number;
}

export function packageSize(folder: string): PackageSize {
  const files = readdirSync(folder, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  const bytes = files.reduce((sum, entry) => sum + statSync(join(entry.parentPath, entry.name)).size, 0);
  const scratch = mkdtempSync(join(tmpdir(), 'proxy-zip-'));
  try {
    const zip = join(scratch, 'package.zip');
    execFileSync('zip', ['-q', '-r', '-X', zip, ...files.map((entry) => relative(folder, join(entry.parentPath, entry.name)))], { cwd: folder });
    return { files: files.length, bytes, zippedBytes: statSync(zip).size };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The median of `times` cold loads of the app in `appDirectory` by the stand-in worker. */
export async function appLoad(appDirectory: string, times: number, env: Record<string, string | undefined>): Promise<AppLoad> {
  const loads: AppLoad[] = [];
  for (let i = 0; i < times; i++) {
    const host = await FunctionsHost.start({ appDirectory, env, record: false });
    loads.push(host.appLoad);
    await host.close();
  }
  const middle = (pick: (load: AppLoad) => number): number => loads.map(pick).sort((a, b) => a - b)[Math.floor(loads.length / 2)]!;
  return { ms: middle((l) => l.ms), sinceProcessStartMs: middle((l) => l.sinceProcessStartMs), modules: middle((l) => l.modules), rssBytes: middle((l) => l.rssBytes) };
}

export interface SizingInputs {
  /** The worker's resident memory with no stream open, and the memory each open stream adds. */
  idleMb: number;
  mbPerOpenStream: number;
  /** The worker's CPU time per request (non-streaming) and per streamed chunk, microseconds. */
  cpuUsPerRequest: number;
  cpuUsPerChunk: number;
  /**
   * The host's, on the same instance: the stand-in's stands for Azure's .NET host, whose own cost is not measured
   * here (its gRPC and HTTP forwarding work per request and per chunk is of the same kind).
   */
  hostCpuUsPerRequest: number;
  hostCpuUsPerChunk: number;
}

/**
 * How many concurrent requests one 2,048 MB instance holds, for the stream a chat UI makes: a 500-token answer at
 * 50 tokens a second (10 s, one chunk a token). Memory: what the open streams add over idle within 75% of the
 * instance. CPU: at most 50% of the one vCPU such an instance has (Flex Consumption gives CPU in proportion to
 * memory), leaving room for bursts, garbage collection and the host's own work.
 */
export function sizing(inputs: SizingInputs, instanceMb = 2048, vcpus = 1): { byMemory: number; byCpu: number; recommended: number } {
  const streamSeconds = 10;
  const chunks = 500;
  const byMemory = Math.floor((instanceMb * 0.75 - inputs.idleMb) / inputs.mbPerOpenStream);
  const perRequest = inputs.cpuUsPerRequest + inputs.hostCpuUsPerRequest;
  const perChunk = inputs.cpuUsPerChunk + inputs.hostCpuUsPerChunk;
  const cpuSecondsPerSecond = (perRequest + chunks * perChunk) / 1e6 / streamSeconds;
  const byCpu = Math.floor((vcpus * 0.5) / cpuSecondsPerSecond);
  return { byMemory, byCpu, recommended: Math.min(byMemory, byCpu) };
}
