/**
 * `npm run bench`: the proxy against the Azure OpenAI emulator on loopback, beside a direct call to the emulator
 * and the cheapest correct pass-through (bench/floor.ts), in one run, each server in its own process. The proxy
 * runs twice: behind the local host (`npm start`), and as Azure runs it, in a Functions worker behind a host (the
 * stand-in host, test/support/functionsHost, with the real @azure/functions library and its HTTP proxy):
 *  - requests per second at 1, 16 and 64 concurrent clients (non-streaming chat completions);
 *  - each server's CPU time per request (for the Functions path, the worker's: the app's process);
 *  - the latency each adds over the direct call (p50, p99);
 *  - for streams, the time to the first chunk and the gap between chunks, over the direct call's;
 *  - the proxy's resident memory with 1,000 streams open at once, on the local host and in the Functions worker;
 *  - the CPU time per request and the latency with a client key's limits on, against the same proxy (and the same
 *    usage store, Azurite's Table Storage) without, and the rate of requests that store sees from one instance;
 *  - the package Azure runs (scripts/package.mjs): its zipped size, and the time for the worker to load it;
 *  - from those, the HTTP concurrency one Flex Consumption instance holds (bench/deployment.ts).
 * The Functions path runs the package, as Azure does.
 * Prints a table and writes the numbers to bench/results/latest.json. Results are ratios within this run, so
 * they compare like with like on whatever machine runs it.
 *
 * How throughput is measured, since a 2-core machine running the client, the emulator and a server drifts by
 * tens of percent over a minute, and a server is slowed for a few seconds after the emulator was run flat out:
 *  - the direct calls are measured first; then both servers are warmed up, unmeasured, which absorbs that;
 *  - the floor and the proxies then take turns in BENCH_ROUNDS rounds of BENCH_SECONDS each, each round in a
 *    different order, and the ratio reported is the median of the rounds' ratios.
 * CPU time per request is measured twice. In the rounds above, every process shares the machine's cores, as on a
 * busy server: a process that needs more CPU also loses more of it to sharing (caches, preemption). Then again
 * with each server alone on a core, running flat out (`taskset`, where there are two cores): that is each server's
 * own work per request, which the CPU target is about. There the load is raw sockets (bench/saturate.ts) and the
 * upstream a fixed answer (bench/fixedUpstream.ts), both on the other core and both far cheaper per request than a
 * server: with undici's client and the emulator on that core, it was the limit, and the servers idled half the
 * time, so each request also paid for waking a server up (more for a faster server: the floor's CPU per request
 * read about 15% above its cost flat out, and the ratio below the truth). Short windows in turns, each server's
 * share of the core reported with it.
 * The Functions path has a second Node proxy in it, the stand-in host, which costs what Azure's .NET host would;
 * its rate says little about Azure's, so its row is there for its CPU time per request and its stream timing.
 * The servers write their output to log files in bench/results, not to this process: the process making the
 * load must not also be reading one contestant's log.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { appLoad, packageSize, sizing } from './deployment';
import { countedUsageStore } from './usageStore';
import { orderOf } from './rounds';
import { saturate } from './saturate';
import { hasValgrind, instructionsPerRequest, type RequestInstructions } from './instructions';

const ROOT = join(__dirname, '..', '..');
const OUT = join(ROOT, 'bench', 'results');
/** The package Azure runs, which `npm run bench` builds first (build:dev). */
const PACKAGE = join(ROOT, 'dist', 'package');
const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 2) * 1000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const WARMUP_MS = 1000;
/** Before each measured run: time for the client's pool to connect and the server to settle. */
const SETTLE_MS = 300;
const CONCURRENCY = [1, 16, 64];
/** Where each server runs alone while its own CPU time is measured: core 1, the load on core 0. */
const CORES = availableParallelism() >= 2 && hasTaskset() ? { load: '0', server: '1', all: `0-${availableParallelism() - 1}` } : undefined;

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Puts a process, every thread of it, on the given cores. */
function pin(pid: number | undefined, cores: string): void {
  if (pid !== undefined) execFileSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { stdio: 'ignore' });
}

/** Each server alone on the server core, this process and the emulator on the load core; or all back on every core. */
function pinServers(servers: Servers, alone: boolean): void {
  if (CORES === undefined) return;
  pin(process.pid, alone ? CORES.load : CORES.all);
  pin(servers.direct.child.pid, alone ? CORES.load : CORES.all);
  for (const server of [servers.floor, servers.proxy, servers.functions]) {
    pin(server.child.pid, alone ? CORES.server : CORES.all);
    pin(server.cpuPid, alone ? CORES.server : CORES.all);
  }
}
const OPEN_STREAMS = Number(process.env.BENCH_STREAMS ?? 1000);
const KEY = 'emulator-key';
const BODY = JSON.stringify({ model: 'gpt-4o', max_tokens: 16, messages: [{ role: 'user', content: 'Say something short.' }] });

interface Server {
  name: string;
  url: string;
  child: ChildProcess;
  /** The process whose CPU time is the server's, when it is not `child` (the Functions worker). */
  cpuPid?: number;
}

/** Starts a server with its output going to bench/results/<name>.log; resolves with the URL it prints. */
function startProcess(name: string, script: string, env: Record<string, string>, pattern: RegExp, cpuPidPattern?: RegExp): Promise<Server> {
  const logFile = join(OUT, `${name}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, [join(ROOT, 'dist', script)], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return new Promise((resolve, reject) => {
    const output = (): string => readFileSync(logFile, 'utf8');
    const timer = setTimeout(() => {
      clearInterval(poll);
      reject(new Error(`${name} did not start:\n${output()}`));
    }, 15_000);
    const poll = setInterval(() => {
      const url = pattern.exec(output())?.[1];
      if (url === undefined) return;
      clearInterval(poll);
      clearTimeout(timer);
      const cpuPid = cpuPidPattern === undefined ? undefined : Number(cpuPidPattern.exec(output())?.[1]);
      resolve({ name, url, child, ...(cpuPid !== undefined && { cpuPid }) });
    }, 50);
    child.once('exit', (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}):\n${output()}`));
    });
  });
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Servers {
  direct: Server;
  floor: Server;
  /** The proxy behind the local host. */
  proxy: Server;
  /** The proxy in the Functions worker, behind the stand-in host. */
  functions: Server;
  all: Server[];
}

/**
 * The emulator (or, for `upstream: 'fixed'`, the fixed answer of bench/fixedUpstream.ts), the floor and both
 * proxies, for one emulator speed.
 */
async function startServers(chunkDelayMs: number, proxyEnv: Record<string, string> = {}, upstream: 'emulator' | 'fixed' = 'emulator'): Promise<Servers> {
  const emulator =
    upstream === 'fixed'
      ? await startProcess('fixed-upstream', 'bench/fixedUpstream.js', {}, /fixed upstream at (http:\/\/\S+)/)
      : await startProcess('emulator', 'src/emulator/main.js', { EMULATOR_PORT: String(await freePort()), EMULATOR_CHUNK_DELAY_MS: String(chunkDelayMs) }, /emulator at (http:\/\/\S+)/);
  const floor = await startProcess('floor', 'bench/floor.js', { UPSTREAM: emulator.url }, /listening on (http:\/\/\S+)/);
  const env = { AZURE_OPENAI_ENDPOINT: emulator.url, ...proxyEnv };
  const proxy = await startProcess('proxy', 'src/hosting/node/localMain.js', { PORT: '0', ...env }, /listening on (http:\/\/\S+)\/v1/);
  const functions = await startProcess('functions', 'bench/functionsHost.js', { ...env, FUNCTIONS_APP_DIRECTORY: PACKAGE }, /listening on (http:\/\/\S+)\/v1/, /worker pid (\d+)/);
  return { direct: emulator, floor, proxy, functions, all: [emulator, floor, proxy, functions] };
}

/** What a client calls on each server: Azure's URL directly, OpenAI's through the two proxies. */
function target(server: Pick<Server, 'name' | 'url'>, stream = false): { origin: string; path: string; headers: Record<string, string>; body: string } {
  // The stream asks for its usage chunk: otherwise the proxy asks for it itself (to log the tokens) and drops
  // it, so its streams would have one chunk fewer than the others and their mean gap would not compare.
  const body = stream ? JSON.stringify({ ...JSON.parse(BODY), stream: true, stream_options: { include_usage: true }, max_tokens: undefined }) : BODY;
  if (server.name === 'emulator') {
    return { origin: server.url, path: '/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21', headers: { 'api-key': KEY, 'content-type': 'application/json' }, body };
  }
  return { origin: server.url, path: '/v1/chat/completions', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** One server's run at one concurrency: its rate in each round, and the latency over every round. */
interface LoadResult {
  rps: number;
  /** The server's CPU time per request (median over rounds), microseconds. */
  cpuUsPerRequest: number;
  /** Of a helper process on the path (the stand-in host), microseconds per request. */
  helperCpuUsPerRequest: number;
  roundsRps: number[];
  /** Its CPU time per request in each round, microseconds. */
  roundsCpu: number[];
  p50: number;
  p99: number;
  errors: number;
}

interface LoadSample {
  rps: number;
  latencies: number[];
  errors: number;
  /** The server's own CPU time (user and system) per request, microseconds. */
  cpuUsPerRequest: number;
  helperCpuUsPerRequest: number;
}

/**
 * A process's CPU time so far, every thread of it, microseconds: the scheduler's own count of each thread's run
 * time (each thread's `schedstat` under `/proc/<pid>/task`), not /proc/<pid>/stat's 10 ms ticks, which a 500 ms
 * window cannot afford.
 */
function cpuMicros(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  let nanos = 0;
  for (const thread of readdirSync(`/proc/${pid}/task`)) {
    try {
      nanos += Number(readFileSync(`/proc/${pid}/task/${thread}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return nanos / 1000;
}

const median = (values: readonly number[]): number => percentile([...values].sort((a, b) => a - b), 50);

/** `concurrency` clients calling the server back to back for DURATION_MS, after `warmupMs` not counted. */
async function load(server: Server, concurrency: number, warmupMs: number): Promise<LoadSample> {
  const { origin, path, headers, body } = target(server);
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  let measuring = false;
  let stop = false;
  const worker = async (): Promise<void> => {
    while (!stop) {
      const started = performance.now();
      try {
        const response = await pool.request({ method: 'POST', path, headers, body });
        await response.body.arrayBuffer();
        if (response.statusCode !== 200) errors++;
      } catch {
        errors++;
      }
      if (measuring) latencies.push(performance.now() - started);
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  measuring = true;
  const started = performance.now();
  const cpuPid = server.cpuPid ?? server.child.pid;
  const helperPid = server.cpuPid === undefined ? undefined : server.child.pid;
  const cpuBefore = cpuMicros(cpuPid);
  const helperBefore = cpuMicros(helperPid);
  await new Promise((resolve) => setTimeout(resolve, DURATION_MS));
  measuring = false;
  const cpuUs = cpuMicros(cpuPid) - cpuBefore;
  const helperUs = cpuMicros(helperPid) - helperBefore;
  const elapsed = performance.now() - started;
  stop = true;
  await Promise.all(workers);
  await pool.close();
  const count = Math.max(1, latencies.length);
  return { rps: latencies.length / (elapsed / 1000), latencies, errors, cpuUsPerRequest: cpuUs / count, helperCpuUsPerRequest: helperUs / count };
}

function summarise(samples: readonly LoadSample[]): LoadResult {
  const latencies = samples.flatMap((sample) => sample.latencies).sort((a, b) => a - b);
  return {
    rps: median(samples.map((sample) => sample.rps)),
    cpuUsPerRequest: median(samples.map((sample) => sample.cpuUsPerRequest)),
    helperCpuUsPerRequest: median(samples.map((sample) => sample.helperCpuUsPerRequest)),
    roundsRps: samples.map((sample) => Math.round(sample.rps)),
    roundsCpu: samples.map((sample) => sample.cpuUsPerRequest),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors: samples.reduce((sum, sample) => sum + sample.errors, 0),
  };
}

interface Rounds {
  results: Map<Server, LoadResult>;
  rpsRatios: Map<Server, number>;
  cpuRatios: Map<Server, number>;
}

/**
 * The floor and the contestants at one concurrency, in ROUNDS rounds, each round in another order (see `orderOf`).
 * Also, for each contestant, the median over rounds of its rate, and of its CPU time per request, over the floor's
 * in the same round.
 */

async function loadRounds(floor: Server, contestants: readonly Server[], concurrency: number): Promise<Rounds> {
  const all = [floor, ...contestants];
  const samples = new Map<Server, LoadSample[]>(all.map((server) => [server, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const server of orderOf(all, round)) samples.get(server)!.push(await load(server, concurrency, SETTLE_MS));
  }
  const floorSamples = samples.get(floor)!;
  const ratio = (server: Server, of: (sample: LoadSample) => number): number =>
    median(samples.get(server)!.map((sample, round) => of(sample) / of(floorSamples[round]!)));
  return {
    results: new Map(all.map((server) => [server, summarise(samples.get(server)!)])),
    rpsRatios: new Map(contestants.map((server) => [server, ratio(server, (sample) => sample.rps)])),
    cpuRatios: new Map(contestants.map((server) => [server, ratio(server, (sample) => sample.cpuUsPerRequest)])),
  };
}

/** The clients at which each server's own CPU time is measured, alone on a core. */
const ALONE_CONCURRENCY = [16, 64];
/** Windows per server at each of those, taken in turns, and their length. */
const WINDOWS = Number(process.env.BENCH_WINDOWS ?? 16);
const WINDOW_MS = 500;
/**
 * How long each server runs flat out, unmeasured, before its first window. These rows are about a server's steady
 * state, and V8 is still optimising the proxy's code well after its first second: traced with --trace-opt, it
 * optimised about 240 functions over its first 17,000 requests and some 30 more over the next 16,000, on a
 * background thread whose time counts as the server's. After one second of warm-up (as before), the proxy's first
 * three windows read 150 - 210 µs a request against 105 - 125 µs in the later ones, and the floor's first 104 µs
 * against 66 - 84; after five seconds, one window at most reads high.
 */
const WARM_UP_MS = Number(process.env.BENCH_WARM_UP_SECONDS ?? 5) * 1000;

/** One server flat out for one window: its CPU time per request, and its share of its core. */
interface SaturatedSample {
  cpuUsPerRequest: number;
  helperCpuUsPerRequest: number;
  /** The server's CPU time over the window's: about 1 when it ran flat out. */
  busy: number;
  rps: number;
}

async function saturatedWindow(server: Server, concurrency: number): Promise<SaturatedSample> {
  const { path, headers, body } = target(server);
  const load = saturate(server.url, concurrency, { path, headers, body });
  const pid = server.cpuPid ?? server.child.pid;
  const helperPid = server.cpuPid === undefined ? undefined : server.child.pid;
  try {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const before = { answers: load.answers, cpu: cpuMicros(pid), helper: cpuMicros(helperPid), at: performance.now() };
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
    const answers = Math.max(1, load.answers - before.answers);
    const elapsedMs = performance.now() - before.at;
    const cpuUs = cpuMicros(pid) - before.cpu;
    return { cpuUsPerRequest: cpuUs / answers, helperCpuUsPerRequest: (cpuMicros(helperPid) - before.helper) / answers, busy: cpuUs / 1000 / elapsedMs, rps: answers / (elapsedMs / 1000) };
  } finally {
    load.close();
  }
}

/** A server flat out for WARM_UP_MS, unmeasured (its answers are still checked). */
async function warmUp(server: Server): Promise<void> {
  const { path, headers, body } = target(server);
  const load = saturate(server.url, 16, { path, headers, body });
  try {
    await new Promise((resolve) => setTimeout(resolve, WARM_UP_MS));
  } finally {
    load.close();
  }
}

interface SaturatedResult extends SaturatedSample {
  /** Each window's CPU time per request, microseconds. */
  windowsCpu: number[];
}

interface SaturatedRounds {
  results: Map<Server, SaturatedResult>;
  /** The median over windows of a contestant's CPU time per request over the floor's in the window beside it. */
  cpuRatios: Map<Server, number>;
}

/**
 * The floor and `contestants` at ALONE_CONCURRENCY, each alone on a core and flat out, in WINDOWS windows each,
 * taken in turns (`orderOf`); the servers must answer the fixed upstream (`startServers(…, 'fixed')`).
 */
async function saturatedRounds(servers: Servers, contestants: readonly Server[]): Promise<Map<number, SaturatedRounds>> {
  const all = [servers.floor, ...contestants];
  const measured = new Map<number, SaturatedRounds>();
  pinServers(servers, true);
  try {
    for (const server of all) await warmUp(server);
    for (const concurrency of ALONE_CONCURRENCY) {
      const samples = new Map<Server, SaturatedSample[]>(all.map((server) => [server, []]));
      for (let window = 0; window < WINDOWS; window++) {
        for (const server of orderOf(all, window)) samples.get(server)!.push(await saturatedWindow(server, concurrency));
      }
      const floorSamples = samples.get(servers.floor)!;
      const of = (server: Server): SaturatedResult => {
        const taken = samples.get(server)!;
        const middle = (pick: (sample: SaturatedSample) => number): number => median(taken.map(pick));
        return { cpuUsPerRequest: middle((x) => x.cpuUsPerRequest), helperCpuUsPerRequest: middle((x) => x.helperCpuUsPerRequest), busy: middle((x) => x.busy), rps: middle((x) => x.rps), windowsCpu: taken.map((x) => x.cpuUsPerRequest) };
      };
      measured.set(concurrency, {
        results: new Map(all.map((server) => [server, of(server)])),
        cpuRatios: new Map(contestants.map((server) => [server, median(samples.get(server)!.map((sample, i) => sample.cpuUsPerRequest / floorSamples[i]!.cpuUsPerRequest))])),
      });
    }
  } finally {
    pinServers(servers, false);
  }
  return measured;
}

interface StreamResult {
  firstChunkMs: number;
  chunkGapMs: number;
}

/** The time to the first chunk, and the mean gap between chunks, over `count` streams one after another. */
async function streams(server: Server, count: number): Promise<StreamResult> {
  const { origin, path, headers, body } = target(server, true);
  const pool = new Pool(origin, { connections: 1 });
  const firsts: number[] = [];
  const gaps: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const response = await pool.request({ method: 'POST', path, headers, body });
    let last = 0;
    for await (const _chunk of response.body) {
      const now = performance.now();
      if (last === 0) firsts.push(now - started);
      else gaps.push(now - last);
      last = now;
    }
  }
  await pool.close();
  const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  return { firstChunkMs: percentile([...firsts].sort((a, b) => a - b), 50), chunkGapMs: mean(gaps) };
}

function residentBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

/** A server's resident memory (the worker's, for the Functions path) once `count` streams are open through it at once. */
async function openStreamsMemory(
  proxy: Server,
  count: number,
): Promise<{ open: number; residentMb: number; idleMb: number; cpuUsPerChunk: number; helperCpuUsPerChunk: number }> {
  const pid = proxy.cpuPid ?? proxy.child.pid ?? 0;
  const { origin, path, headers } = target(proxy, true);
  // A long prompt makes a long reply (the emulator echoes it): about 70 chunks, 14 s at 200 ms a chunk.
  const body = JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'word '.repeat(80) }] });
  const idle = residentBytes(pid);
  const pool = new Pool(origin, { connections: count });
  const controllers: AbortController[] = [];
  let open = 0;
  let events = 0;
  const opened = Array.from({ length: count }, async () => {
    const controller = new AbortController();
    controllers.push(controller);
    try {
      const response = await pool.request({ method: 'POST', path, headers, body, signal: controller.signal });
      const iterator = response.body[Symbol.asyncIterator]();
      await iterator.next(); // the first chunk: the stream is open end to end
      open++;
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) break;
        events += String(next.value).split('data: ').length - 1;
      }
    } catch {
      // aborted once measured
    }
  });
  const deadline = Date.now() + 30_000;
  while (open < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const resident = residentBytes(pid);
  const measuredOpen = open;
  // With every stream open, the server's CPU time over a few seconds, per event it passed on meanwhile.
  const eventsBefore = events;
  const helperPid = proxy.cpuPid === undefined ? undefined : proxy.child.pid;
  const cpuBefore = cpuMicros(pid);
  const helperBefore = helperPid === undefined ? 0 : cpuMicros(helperPid);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const passed = Math.max(1, events - eventsBefore);
  const cpuUsPerChunk = (cpuMicros(pid) - cpuBefore) / passed;
  const helperCpuUsPerChunk = helperPid === undefined ? 0 : (cpuMicros(helperPid) - helperBefore) / passed;
  for (const controller of controllers) controller.abort();
  await Promise.allSettled(opened);
  await pool.destroy();
  return { open: measuredOpen, residentMb: resident / 2 ** 20, idleMb: idle / 2 ** 20, cpuUsPerChunk, helperCpuUsPerChunk };
}

const fixed = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/**
 * The same proxy with the key's proxy-held credential and the usage store (Azurite), once without limits and once
 * with limits it never reaches (so every request is admitted, counted and its tokens recorded), its counts shared
 * through the table: what limits cost is the one against the other. The store brings the usage ledger and object
 * ownership with it, limits or not; what those cost is shown beside, against the same proxy with no store.
 */
async function limitsSection(results: Record<string, unknown>, targets: Record<string, number>, rows: string[]): Promise<void> {
  const store = await countedUsageStore();
  const [offRoute, onRoute] = [await store.route(), await store.route()];
  const held = { AZURE_OPENAI_AUTH: 'key', AZURE_OPENAI_TOKEN: KEY, PROXY_API_KEYS: KEY };
  const limits = { PROXY_KEY_LIMITS: JSON.stringify({ requestsPerMinute: 1e9, tokensPerMinute: 1e12, tokensPerDay: 1e12, tokensPerMonth: 1e12 }) };
  const limitsEmulator = await startProcess('emulator', 'src/emulator/main.js', { EMULATOR_PORT: String(await freePort()), EMULATOR_CHUNK_DELAY_MS: '0' }, /emulator at (http:\/\/\S+)/);
  const limitsFloor = await startProcess('floor', 'bench/floor.js', { UPSTREAM: limitsEmulator.url }, /listening on (http:\/\/\S+)/);
  const proxy = (name: string, env: Record<string, string>): Promise<Server> =>
    startProcess(name, 'src/hosting/node/localMain.js', { PORT: '0', AZURE_OPENAI_ENDPOINT: limitsEmulator.url, ...held, ...env }, /listening on (http:\/\/\S+)\/v1/);
  const noStore = await proxy('no-store', {});
  const off = await proxy('limits-off', { PROXY_USAGE_TABLE_CONNECTION_STRING: offRoute.connectionString });
  const on = await proxy('limits-on', { ...limits, PROXY_USAGE_TABLE_CONNECTION_STRING: onRoute.connectionString });
  const servers = [limitsFloor, noStore, off, on];
  // Each server alone on a core, the load and the emulator on the other: the difference sought is a few percent.
  // Not flat out as the CPU rows are: these proxies differ by that much only, so they wait on that core alike.
  if (CORES !== undefined) {
    pin(process.pid, CORES.load);
    pin(limitsEmulator.child.pid, CORES.load);
    pin(store.pid, CORES.load);
    for (const server of servers) pin(server.child.pid, CORES.server);
  }
  try {
    for (const server of servers) await load(server, 16, WARMUP_MS);
    const storeBefore = [offRoute.requests(), onRoute.requests()];
    const storeStarted = performance.now();
    const at16 = await loadRounds(limitsFloor, [noStore, off, on], 16);
    const seconds = (performance.now() - storeStarted) / 1000;
    const [offStoreRate, onStoreRate] = [(offRoute.requests() - storeBefore[0]!) / seconds, (onRoute.requests() - storeBefore[1]!) / seconds];
    const at1 = await loadRounds(limitsFloor, [off, on], 1);
    // Each round's ratio of two servers (which ran back to back in it), the median of the rounds.
    const roundsRatio = (of: Server, over: Server): number => {
      const overRounds = at16.results.get(over)!.roundsCpu;
      return median(at16.results.get(of)!.roundsCpu.map((cpu, round) => cpu / overRounds[round]!));
    };
    const cpuOnOverOff = roundsRatio(on, off);
    const storeOverNone = roundsRatio(off, noStore);
    const cpu = (server: Server): number => at16.results.get(server)!.cpuUsPerRequest;
    const p50AddedMs = at1.results.get(on)!.p50 - at1.results.get(off)!.p50;
    const failed = [...at16.results.values(), ...at1.results.values()].reduce((sum, r) => sum + r.errors, 0);
    results.limits = {
      cpuUsPerRequestNoStore: cpu(noStore),
      cpuUsPerRequestOff: cpu(off),
      cpuUsPerRequestOn: cpu(on),
      cpuOnOverOff,
      storeOverNone,
      p50AddedMs,
      storeRequestsPerSecond: onStoreRate,
      storeRequestsPerSecondWithoutLimits: offStoreRate,
      failed,
    };
    Object.assign(targets, { limitsCpuOverOff: cpuOnOverOff, limitsAddedP50Ms: p50AddedMs });
    rows.push('');
    rows.push(
      `Client key limits on (counts shared through Table Storage, Azurite) against off (the same store), each alone on a core, 16 clients, ${ROUNDS} rounds: CPU per request ${fixed(cpu(off), 0)} → ${fixed(cpu(on), 0)} µs (${fixed(cpuOnOverOff)}x, median of the rounds' ratios)`,
    );
    rows.push(`  p50 at 1 client: ${fixed(at1.results.get(off)!.p50, 3)} → ${fixed(at1.results.get(on)!.p50, 3)} ms (${p50AddedMs >= 0 ? '+' : ''}${fixed(p50AddedMs, 3)} ms); the store saw ${fixed(onStoreRate, 1)} requests/s from the instance with limits (one key), ${fixed(offStoreRate, 1)} without (the ledger alone)`);
    rows.push(`  the store itself (usage ledger and object ownership, no limits) against no store: ${fixed(cpu(noStore), 0)} → ${fixed(cpu(off), 0)} µs (${fixed(storeOverNone)}x)`);
  } finally {
    if (CORES !== undefined) pin(process.pid, CORES.all);
    for (const server of [limitsEmulator, ...servers]) server.child.kill();
    await store.close();
  }
}

/** The rows of the CPU each server spends per request, flat out, alone on a core: floor | proxy [| functions]. */
function saturatedRows(measured: Map<number, SaturatedRounds>, servers: readonly Server[]): string[] {
  const [floor, ...contestants] = servers as [Server, ...Server[]];
  const where = CORES === undefined ? 'cores shared (no taskset)' : 'each server alone on a core';
  const rows = [`Server CPU time per request, flat out, ${where}, µs, ${WINDOWS} windows of ${WINDOW_MS} ms each in turns (ratio to the floor: median of the windows'; its share of the core): ${servers.map((server) => server.name).join(' | ')}`];
  for (const [concurrency, { results, cpuRatios }] of measured) {
    const cell = (server: Server): string => {
      const result = results.get(server)!;
      const ratio = server === floor ? '' : ` (${fixed(cpuRatios.get(server)!)}x)`;
      const helper = server.cpuPid === undefined ? '' : ` (+ stand-in host ${fixed(result.helperCpuUsPerRequest, 0)})`;
      return `${fixed(result.cpuUsPerRequest, 0)}${ratio}${helper} [${fixed(result.busy)}]`;
    };
    rows.push(`${String(concurrency).padStart(7)} | ${[floor, ...contestants].map(cell).join(' | ')}`);
  }
  return rows;
}

/** The floor and the proxy behind the local host, each flat out alone on a core, at 16 and 64 clients: the CPU target's rows. */
async function cpuSection(rows: string[]): Promise<void> {
  const servers = await startServers(0, {}, 'fixed');
  try {
    rows.push(...saturatedRows(await saturatedRounds(servers, [servers.proxy]), [servers.floor, servers.proxy]));
  } finally {
    for (const server of servers.all) server.child.kill();
  }
}

/** Answers each counted server gives before its count starts (V8 done optimising), and then counted. */
const COUNTED_ANSWERS = { warmUp: 20_000, counted: 5000 };

/** The floor's and the local host's user-space instructions a request (bench/instructions.ts), one client. */
async function instructionsSection(rows: string[]): Promise<void> {
  if (!hasValgrind()) {
    rows.push('Instructions a request: skipped, valgrind is not installed (apt-get install valgrind)');
    return;
  }
  const upstream = await startProcess('fixed-upstream', 'bench/fixedUpstream.js', {}, /fixed upstream at (http:\/\/\S+)/);
  try {
    const counted = async (name: 'floor' | 'proxy', script: string, env: Record<string, string>): Promise<RequestInstructions> => {
      const { path, headers, body } = target({ name, url: '' });
      return instructionsPerRequest(
        { node: process.execPath, args: [join(ROOT, 'dist', script)], env, listening: /listening on (http:\/\/[^\s/]+)/, request: { path, headers, body }, prefix: join(OUT, `instructions-${name}`) },
        COUNTED_ANSWERS,
      );
    };
    // Side by side: each is one process under valgrind, and the machine has a core for each.
    // Both settle before either's failure is told, so that neither is left running under valgrind.
    const settled = await Promise.allSettled([
      counted('floor', 'bench/floor.js', { UPSTREAM: upstream.url }),
      counted('proxy', 'src/hosting/node/localMain.js', { PORT: '0', AZURE_OPENAI_ENDPOINT: upstream.url }),
    ]);
    const [floor, proxy] = settled.map((result) => {
      if (result.status === 'rejected') throw result.reason;
      return result.value;
    }) as [RequestInstructions, RequestInstructions];
    rows.push(
      `User-space instructions a request under callgrind, one client, ${COUNTED_ANSWERS.counted} answers after ${COUNTED_ANSWERS.warmUp}, V8's compiler and major collections left out: ` +
        `floor ${fixed(floor.work, 0)} | proxy ${fixed(proxy.work, 0)} (${fixed(proxy.work / floor.work)}x); ` +
        `major collections in the count: floor ${fixed(floor.majorCollection, 0)} | proxy ${fixed(proxy.majorCollection, 0)} a request`,
    );
  } finally {
    upstream.child.kill();
  }
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, durationSeconds: DURATION_MS / 1000, rounds: ROUNDS };
  const targets: Record<string, number> = {};
  // The Functions worker's figures, from the runs below, for the sizing at the end.
  const worker = { cpuUsPerRequest: Number.NaN, cpuUsPerChunk: Number.NaN, hostCpuUsPerRequest: Number.NaN, hostCpuUsPerChunk: Number.NaN, idleMb: Number.NaN, mbPerOpenStream: Number.NaN };
  // Every server runs this Node (scripts/bench.mjs picks the one Azure runs the app on).
  const rows: string[] = [`Node ${process.version}, every process`];
  if (process.env.BENCH_ONLY === 'limits') {
    // One section alone, for working on it: `BENCH_ONLY=limits npm run bench`.
    await limitsSection(results, targets, rows);
    console.info(rows.join('\n'));
    return;
  }
  if (process.env.BENCH_ONLY === 'instructions') {
    // The CPU target in instructions, steadier than time: `BENCH_ONLY=instructions npm run bench` (needs valgrind).
    await instructionsSection(rows);
    console.info(rows.join('\n'));
    return;
  }
  if (process.env.BENCH_ONLY === 'cpu') {
    // The CPU target alone, for working on it: `BENCH_ONLY=cpu npm run bench` (the floor and the local host).
    await cpuSection(rows);
    console.info(rows.join('\n'));
    return;
  }
  const fast = await startServers(0);
  const contestants = [fast.proxy, fast.functions];
  try {
    const throughput: Record<string, Record<number, LoadResult>> = { emulator: {}, floor: {}, proxy: {}, functions: {} };
    const rpsRatios: Record<string, Record<number, number>> = { proxy: {}, functions: {} };
    const cpuRatios: Record<string, Record<number, number>> = { proxy: {}, functions: {} };
    for (const concurrency of CONCURRENCY) throughput.emulator![concurrency] = summarise([await load(fast.direct, concurrency, WARMUP_MS)]);
    for (const server of [fast.floor, ...contestants]) await load(server, 16, WARMUP_MS);
    for (const concurrency of CONCURRENCY) {
      const measured = await loadRounds(fast.floor, contestants, concurrency);
      for (const [server, result] of measured.results) throughput[server.name]![concurrency] = result;
      for (const server of contestants) {
        rpsRatios[server.name]![concurrency] = measured.rpsRatios.get(server)!;
        cpuRatios[server.name]![concurrency] = measured.cpuRatios.get(server)!;
      }
    }
    results.throughput = throughput;
    results.rpsRatiosToFloor = rpsRatios;
    results.cpuRatiosToFloor = cpuRatios;
    const direct = throughput.emulator!;
    const cell = (name: string, c: number): string => `${fixed(throughput[name]![c]!.rps, 0)} (${fixed(throughput[name]![c]!.rps / direct[c]!.rps)}x)`;
    rows.push(`Non-streaming chat completions, ${ROUNDS} rounds of ${DURATION_MS / 1000} s each: median requests per second (ratio to direct)`);
    rows.push('clients | direct rps | floor rps | proxy rps | functions rps | proxy/floor | functions/floor');
    for (const c of CONCURRENCY) {
      rows.push(
        `${String(c).padStart(7)} | ${fixed(direct[c]!.rps, 0).padStart(10)} | ${cell('floor', c)} | ${cell('proxy', c)} | ${cell('functions', c)} | ${fixed(rpsRatios.proxy![c]!)}x | ${fixed(rpsRatios.functions![c]!)}x`,
      );
    }
    rows.push('');
    rows.push('Server CPU time per request, µs (ratio to the floor, median of rounds): floor | proxy | functions worker (+ stand-in host, not ours)');
    for (const c of CONCURRENCY) {
      const cpu = (name: string): string => fixed(throughput[name]![c]!.cpuUsPerRequest, 0);
      rows.push(
        `${String(c).padStart(7)} | ${cpu('floor')} | ${cpu('proxy')} (${fixed(cpuRatios.proxy![c]!)}x) | ${cpu('functions')} (${fixed(cpuRatios.functions![c]!)}x) (+ ${fixed(throughput.functions![c]!.helperCpuUsPerRequest, 0)})`,
      );
    }
    rows.push('');
    rows.push('Latency added over direct, ms: p50 floor / proxy / functions | p99 floor / proxy / functions');
    for (const c of CONCURRENCY) {
      const added = (name: string, p: 'p50' | 'p99'): string => fixed(throughput[name]![c]![p] - direct[c]![p], 3);
      rows.push(`${String(c).padStart(7)} | ${added('floor', 'p50')} / ${added('proxy', 'p50')} / ${added('functions', 'p50')} | ${added('floor', 'p99')} / ${added('proxy', 'p99')} / ${added('functions', 'p99')}`);
    }
    rows.push(`(per round, proxy/floor CPU per request: ${CONCURRENCY.map((c) => `${c}: ${throughput.proxy![c]!.roundsCpu.map((x, i) => fixed(x / throughput.floor![c]!.roundsCpu[i]!)).join(' ')}`).join('; ')})`);

    // Each server's own work: flat out, alone on a core, answered by the fixed upstream.
    const alone: Record<string, Record<number, SaturatedResult>> = { floor: {}, proxy: {}, functions: {} };
    const aloneRatios: Record<string, Record<number, number>> = { proxy: {}, functions: {} };
    if (CORES !== undefined) {
      const flat = await startServers(0, {}, 'fixed');
      try {
        const measured = await saturatedRounds(flat, [flat.proxy, flat.functions]);
        for (const [concurrency, { results: byServer, cpuRatios: ratios }] of measured) {
          for (const [server, result] of byServer) alone[server.name]![concurrency] = result;
          for (const server of [flat.proxy, flat.functions]) aloneRatios[server.name]![concurrency] = ratios.get(server)!;
        }
        rows.push('', ...saturatedRows(measured, [flat.floor, flat.proxy, flat.functions]));
      } finally {
        for (const server of flat.all) server.child.kill();
      }
      results.cpuAloneOnACore = alone;
      results.cpuAloneRatiosToFloor = aloneRatios;
    }
    results.errors = Object.values(throughput).flatMap((byC) => Object.values(byC).map((r) => r.errors)).reduce((a, b) => a + b, 0);
    Object.assign(targets, {
      cpuRatioToFloorAt16: aloneRatios.proxy![16] ?? cpuRatios.proxy![16]!,
      cpuRatioToFloorAt64: aloneRatios.proxy![64] ?? cpuRatios.proxy![64]!,
      sharedCpuRatioToFloorAt16: cpuRatios.proxy![16]!,
      sharedCpuRatioToFloorAt64: cpuRatios.proxy![64]!,
      rpsRatioToFloorAt16: rpsRatios.proxy![16]!,
      rpsRatioToFloorAt64: rpsRatios.proxy![64]!,
      addedP50OverFloorAt1Ms: throughput.proxy![1]!.p50 - throughput.floor![1]!.p50,
      functionsPathCpuOverLocalHostAt16Us: (alone.functions![16] ?? throughput.functions![16]!).cpuUsPerRequest - (alone.proxy![16] ?? throughput.proxy![16]!).cpuUsPerRequest,
    });
    worker.cpuUsPerRequest = (alone.functions![16] ?? throughput.functions![16]!).cpuUsPerRequest;
    worker.hostCpuUsPerRequest = (alone.functions![16] ?? throughput.functions![16]!).helperCpuUsPerRequest;
  } finally {
    for (const server of fast.all) server.child.kill();
  }

  await limitsSection(results, targets, rows);

  // Stream compatibility drops Azure's first (prompt-filter) chunk on purpose, which would show as one emulator
  // chunk delay of "overhead"; off, the numbers are the proxy's own.
  const slow = await startServers(5, { AZURE_OPENAI_STREAM_COMPAT: 'false' });
  try {
    const streaming: Record<string, StreamResult> = {};
    for (const server of [slow.direct, slow.floor, slow.proxy, slow.functions]) streaming[server.name] = await streams(server, 20);
    results.streaming = streaming;
    const d = streaming.emulator!;
    rows.push('');
    rows.push('Streaming (emulator chunk every 5 ms; proxies with AZURE_OPENAI_STREAM_COMPAT=false): over direct, time to first chunk and gap between chunks');
    for (const name of ['floor', 'proxy', 'functions']) {
      const s = streaming[name]!;
      rows.push(`${name.padEnd(12)} | first chunk +${fixed(s.firstChunkMs - d.firstChunkMs, 3)} ms | chunk gap +${fixed(s.chunkGapMs - d.chunkGapMs, 3)} ms`);
    }
  } finally {
    for (const server of slow.all) server.child.kill();
  }

  const long = await startServers(200);
  try {
    long.floor.child.kill();
    const memory = await openStreamsMemory(long.proxy, OPEN_STREAMS);
    const functionsMemory = await openStreamsMemory(long.functions, OPEN_STREAMS);
    results.memory = memory;
    results.functionsMemory = functionsMemory;
    rows.push('');
    rows.push(`Proxy resident memory with ${memory.open} streams open at once: ${fixed(memory.residentMb, 1)} MB (idle ${fixed(memory.idleMb, 1)} MB)`);
    rows.push(`Functions worker resident memory with ${functionsMemory.open} streams open at once: ${fixed(functionsMemory.residentMb, 1)} MB (idle ${fixed(functionsMemory.idleMb, 1)} MB)`);
    rows.push(`CPU per streamed chunk with them all open: proxy ${fixed(memory.cpuUsPerChunk, 1)} µs, Functions worker ${fixed(functionsMemory.cpuUsPerChunk, 1)} µs (+ stand-in host ${fixed(functionsMemory.helperCpuUsPerChunk, 1)} µs)`);
    targets.residentMbWithOpenStreams = memory.residentMb;
    worker.idleMb = functionsMemory.idleMb;
    worker.cpuUsPerChunk = functionsMemory.cpuUsPerChunk;
    worker.hostCpuUsPerChunk = functionsMemory.helperCpuUsPerChunk;
    worker.mbPerOpenStream = (functionsMemory.residentMb - functionsMemory.idleMb) / Math.max(1, functionsMemory.open);
  } finally {
    for (const server of long.all) server.child.kill();
  }

  // The package, and what one instance holds.
  const size = packageSize(PACKAGE);
  const env = { PATH: process.env.PATH, AZURE_OPENAI_ENDPOINT: 'http://127.0.0.1:9' };
  const bundled = await appLoad(PACKAGE, 5, env);
  const unbundled = await appLoad(ROOT, 5, env);
  const instance = sizing(worker);
  results.package = { ...size, load: bundled, unbundledLoad: unbundled };
  results.sizing = { ...worker, ...instance };
  targets.packageZippedMb = size.zippedBytes / 2 ** 20;
  rows.push('');
  rows.push(`Package (dist/package): ${size.files} files, ${fixed(size.bytes / 2 ** 20)} MB, zipped ${fixed(size.zippedBytes / 2 ** 20)} MB`);
  const loadRow = (l: typeof bundled): string =>
    `${fixed(l.ms, 0)} ms (${fixed(l.sinceProcessStartMs, 0)} ms from the worker's start), ${l.modules} modules, ${fixed(l.rssBytes / 2 ** 20, 1)} MB resident`;
  rows.push(`Worker loads every function: package ${loadRow(bundled)}; unbundled build ${loadRow(unbundled)} (median of 5)`);
  rows.push(
    `One 2,048 MB instance (1 vCPU), 10 s streams of 500 chunks: worker + host ${fixed(worker.cpuUsPerRequest + worker.hostCpuUsPerRequest, 0)} µs a request + ` +
      `${fixed(worker.cpuUsPerChunk + worker.hostCpuUsPerChunk, 1)} µs a chunk, ` +
      `${fixed(worker.mbPerOpenStream * 1024, 0)} KB an open stream over ${fixed(worker.idleMb, 0)} MB idle: ` +
      `${instance.byMemory} streams by memory (75%), ${instance.byCpu} by CPU (50%): perInstanceConcurrency up to ${instance.recommended}`,
  );

  results.targets = targets;
  rows.push('');
  rows.push('Targets');
  rows.push(`  proxy CPU per request <= 1.3x the floor's at 16 clients (flat out, alone on a core): ${fixed(targets.cpuRatioToFloorAt16 ?? Number.NaN)}x (cores shared: ${fixed(targets.sharedCpuRatioToFloorAt16 ?? Number.NaN)}x)`);
  rows.push(`  proxy CPU per request <= 1.3x the floor's at 64 clients (flat out, alone on a core): ${fixed(targets.cpuRatioToFloorAt64 ?? Number.NaN)}x (cores shared: ${fixed(targets.sharedCpuRatioToFloorAt64 ?? Number.NaN)}x)`);
  rows.push(`  proxy rps >= 0.8x the floor's at 16 / 64 clients: ${fixed(targets.rpsRatioToFloorAt16 ?? Number.NaN)}x / ${fixed(targets.rpsRatioToFloorAt64 ?? Number.NaN)}x`);
  rows.push(`  added p50 within 0.2 ms of the floor's at 1 client: ${fixed(targets.addedP50OverFloorAt1Ms ?? Number.NaN, 3)} ms`);
  rows.push(`  resident memory <= 150 MB at ${OPEN_STREAMS} streams: ${fixed(targets.residentMbWithOpenStreams ?? Number.NaN, 1)} MB`);
  rows.push(`  the Functions path's own CPU per request, over the local host's, at 16 clients: ${fixed(targets.functionsPathCpuOverLocalHostAt16Us ?? Number.NaN, 0)} µs`);
  rows.push(`  limits add <= 10% CPU per request (1.10x) and nothing at p50: ${fixed(targets.limitsCpuOverOff ?? Number.NaN)}x, ${fixed(targets.limitsAddedP50Ms ?? Number.NaN, 3)} ms`);
  rows.push(`  package zipped <= 5 MB: ${fixed(targets.packageZippedMb ?? Number.NaN)} MB`);
  rows.push(`  failed requests: ${String(results.errors)}`);
  console.info(rows.join('\n'));
  writeFileSync(join(OUT, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.info(`\nwritten to bench/results/latest.json`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
