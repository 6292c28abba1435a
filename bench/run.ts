/**
 * `npm run bench`: the proxy against the Azure OpenAI emulator on loopback, beside a direct call to the emulator
 * and a minimal pass-through (bench/passThrough.ts), in one run, each server in its own process:
 *  - requests per second at 1, 16 and 64 concurrent clients (non-streaming chat completions);
 *  - the latency each adds over the direct call (p50, p99);
 *  - for streams, the time to the first chunk and the gap between chunks, over the direct call's;
 *  - the proxy's resident memory with 1,000 streams open at once.
 * Prints a table and writes the numbers to bench/results/latest.json. Results are ratios within this run, so
 * they compare like with like on whatever machine runs it.
 *
 * How throughput is measured, since a 2-core machine running the client, the emulator and a server drifts by
 * tens of percent over a minute, and a server is slowed for a few seconds after the emulator was run flat out:
 *  - the direct calls are measured first; then both servers are warmed up, unmeasured, which absorbs that;
 *  - pass-through and proxy then alternate in BENCH_ROUNDS rounds of BENCH_SECONDS each, taking turns at going
 *    first, and the ratio reported is the median of the rounds' ratios.
 * The servers write their output to log files in bench/results, not to this process: the process making the
 * load must not also be reading one contestant's log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';

const ROOT = join(__dirname, '..', '..');
const OUT = join(ROOT, 'bench', 'results');
const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 2) * 1000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const WARMUP_MS = 1000;
/** Before each measured run: time for the client's pool to connect and the server to settle. */
const SETTLE_MS = 300;
const CONCURRENCY = [1, 16, 64];
const OPEN_STREAMS = Number(process.env.BENCH_STREAMS ?? 1000);
const KEY = 'emulator-key';
const BODY = JSON.stringify({ model: 'gpt-4o', max_tokens: 16, messages: [{ role: 'user', content: 'Say something short.' }] });

interface Server {
  name: string;
  url: string;
  child: ChildProcess;
}

/** Starts a server with its output going to bench/results/<name>.log; resolves with the URL it prints. */
function startProcess(name: string, script: string, env: Record<string, string>, pattern: RegExp): Promise<Server> {
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
      resolve({ name, url, child });
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

/** The emulator, the pass-through and the proxy, for one emulator speed. */
async function startTrio(chunkDelayMs: number, proxyEnv: Record<string, string> = {}): Promise<{ direct: Server; passThrough: Server; proxy: Server; all: Server[] }> {
  const emulatorPort = await freePort();
  const emulator = await startProcess('emulator', 'src/emulator/main.js', { EMULATOR_PORT: String(emulatorPort), EMULATOR_CHUNK_DELAY_MS: String(chunkDelayMs) }, /emulator at (http:\/\/\S+)/);
  const passThrough = await startProcess('pass-through', 'bench/passThrough.js', { UPSTREAM: emulator.url }, /listening on (http:\/\/\S+)/);
  const proxy = await startProcess('proxy', 'src/hosting/localMain.js', { PORT: '0', AZURE_OPENAI_ENDPOINT: emulator.url, ...proxyEnv }, /listening on (http:\/\/\S+)\/v1/);
  return { direct: emulator, passThrough, proxy, all: [emulator, passThrough, proxy] };
}

/** What a client calls on each server: Azure's URL directly, OpenAI's through the two proxies. */
function target(server: Server, stream = false): { origin: string; path: string; headers: Record<string, string>; body: string } {
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
  roundsRps: number[];
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
}

/** A process's CPU time so far (user + system), microseconds, from Linux's accounting. */
function cpuMicros(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  // Fields after the command name (which may hold spaces, so split after its closing parenthesis).
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / 100; // USER_HZ is 100 on Linux
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
  const cpuBefore = cpuMicros(server.child.pid);
  await new Promise((resolve) => setTimeout(resolve, DURATION_MS));
  measuring = false;
  const cpuUs = cpuMicros(server.child.pid) - cpuBefore;
  const elapsed = performance.now() - started;
  stop = true;
  await Promise.all(workers);
  await pool.close();
  return { rps: latencies.length / (elapsed / 1000), latencies, errors, cpuUsPerRequest: cpuUs / Math.max(1, latencies.length) };
}

function summarise(samples: readonly LoadSample[]): LoadResult {
  const latencies = samples.flatMap((sample) => sample.latencies).sort((a, b) => a - b);
  return {
    rps: median(samples.map((sample) => sample.rps)),
    cpuUsPerRequest: median(samples.map((sample) => sample.cpuUsPerRequest)),
    roundsRps: samples.map((sample) => Math.round(sample.rps)),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors: samples.reduce((sum, sample) => sum + sample.errors, 0),
  };
}

/**
 * The pass-through and the proxy at one concurrency, in ROUNDS rounds, taking turns at going first. Also the
 * median, over rounds, of the proxy's rate over the pass-through's.
 */
async function loadRounds(passThrough: Server, proxy: Server, concurrency: number): Promise<{ passThrough: LoadResult; proxy: LoadResult; ratio: number }> {
  const floor: LoadSample[] = [];
  const ours: LoadSample[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      floor.push(await load(passThrough, concurrency, SETTLE_MS));
      ours.push(await load(proxy, concurrency, SETTLE_MS));
    } else {
      ours.push(await load(proxy, concurrency, SETTLE_MS));
      floor.push(await load(passThrough, concurrency, SETTLE_MS));
    }
  }
  return { passThrough: summarise(floor), proxy: summarise(ours), ratio: median(ours.map((sample, round) => sample.rps / floor[round]!.rps)) };
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

/** The proxy's resident memory once `count` streams are open through it at the same time. */
async function openStreamsMemory(proxy: Server, count: number): Promise<{ open: number; residentMb: number; idleMb: number }> {
  const { origin, path, headers } = target(proxy, true);
  // A long prompt makes a long reply (the emulator echoes it): about 70 chunks, 14 s at 200 ms a chunk.
  const body = JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'word '.repeat(80) }] });
  const idle = residentBytes(proxy.child.pid ?? 0);
  const pool = new Pool(origin, { connections: count });
  const controllers: AbortController[] = [];
  let open = 0;
  const opened = Array.from({ length: count }, async () => {
    const controller = new AbortController();
    controllers.push(controller);
    try {
      const response = await pool.request({ method: 'POST', path, headers, body, signal: controller.signal });
      const iterator = response.body[Symbol.asyncIterator]();
      await iterator.next(); // the first chunk: the stream is open end to end
      open++;
      for (;;) if ((await iterator.next()).done === true) break;
    } catch {
      // aborted once measured
    }
  });
  const deadline = Date.now() + 30_000;
  while (open < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const resident = residentBytes(proxy.child.pid ?? 0);
  const measuredOpen = open;
  for (const controller of controllers) controller.abort();
  await Promise.allSettled(opened);
  await pool.destroy();
  return { open: measuredOpen, residentMb: resident / 2 ** 20, idleMb: idle / 2 ** 20 };
}

const fixed = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, durationSeconds: DURATION_MS / 1000, rounds: ROUNDS };
  const fast = await startTrio(0);
  const rows: string[] = [];
  try {
    const throughput: Record<string, Record<number, LoadResult>> = { emulator: {}, 'pass-through': {}, proxy: {} };
    const proxyRatios: Record<number, number> = {};
    for (const concurrency of CONCURRENCY) throughput.emulator![concurrency] = summarise([await load(fast.direct, concurrency, WARMUP_MS)]);
    for (const server of [fast.passThrough, fast.proxy]) await load(server, 16, WARMUP_MS);
    for (const concurrency of CONCURRENCY) {
      const measured = await loadRounds(fast.passThrough, fast.proxy, concurrency);
      throughput['pass-through']![concurrency] = measured.passThrough;
      throughput.proxy![concurrency] = measured.proxy;
      proxyRatios[concurrency] = measured.ratio;
    }
    results.throughput = throughput;
    results.proxyToPassThroughRatios = proxyRatios;
    const direct = throughput.emulator!;
    rows.push(`Non-streaming chat completions, ${ROUNDS} rounds of ${DURATION_MS / 1000} s each: median requests per second (ratio to direct), latency added over direct`);
    rows.push('clients | direct rps | pass-through rps (ratio) | proxy rps (ratio) | proxy/pass-through | added p50 pass / proxy ms | added p99 pass / proxy ms');
    for (const c of CONCURRENCY) {
      const d = direct[c]!;
      const p = throughput['pass-through']![c]!;
      const x = throughput.proxy![c]!;
      rows.push(
        `${String(c).padStart(7)} | ${fixed(d.rps, 0).padStart(10)} | ${fixed(p.rps, 0)} (${fixed(p.rps / d.rps)}x) | ${fixed(x.rps, 0)} (${fixed(x.rps / d.rps)}x) | ${fixed(proxyRatios[c]!)}x | ${fixed(p.p50 - d.p50, 3)} / ${fixed(x.p50 - d.p50, 3)} | ${fixed(p.p99 - d.p99, 3)} / ${fixed(x.p99 - d.p99, 3)}`,
      );
    }
    rows.push(`server CPU time per request, pass-through / proxy: ${CONCURRENCY.map((c) => `${c}: ${fixed(throughput['pass-through']![c]!.cpuUsPerRequest, 0)} / ${fixed(throughput.proxy![c]!.cpuUsPerRequest, 0)} µs`).join('; ')}`);
    rows.push(`(proxy/pass-through is the median of the rounds' ratios; per round: ${CONCURRENCY.map((c) => `${c}: ${throughput.proxy![c]!.roundsRps.map((x, i) => fixed(x / throughput['pass-through']![c]!.roundsRps[i]!)).join(' ')}`).join('; ')})`);
    const errors = Object.values(throughput).flatMap((byC) => Object.values(byC).map((r) => r.errors)).reduce((a, b) => a + b, 0);
    results.errors = errors;
    const p1 = throughput['pass-through']![1]!;
    const x1 = throughput.proxy![1]!;
    results.targets = {
      rpsRatioToPassThroughAt16: proxyRatios[16],
      rpsRatioToPassThroughAt64: proxyRatios[64],
      addedP50OverPassThroughAt1Ms: x1.p50 - p1.p50,
    };
  } finally {
    for (const server of fast.all) server.child.kill();
  }

  // Stream compatibility drops Azure's first (prompt-filter) chunk on purpose, which would show as one emulator
  // chunk delay of "overhead"; off, the numbers are the proxy's own.
  const slow = await startTrio(5, { AZURE_OPENAI_STREAM_COMPAT: 'false' });
  try {
    const streaming: Record<string, StreamResult> = {};
    for (const server of [slow.direct, slow.passThrough, slow.proxy]) streaming[server.name] = await streams(server, 20);
    results.streaming = streaming;
    const d = streaming.emulator!;
    rows.push('');
    rows.push('Streaming (emulator chunk every 5 ms; proxy with AZURE_OPENAI_STREAM_COMPAT=false): over direct, time to first chunk and gap between chunks');
    for (const name of ['pass-through', 'proxy']) {
      const s = streaming[name]!;
      rows.push(`${name.padEnd(12)} | first chunk +${fixed(s.firstChunkMs - d.firstChunkMs, 3)} ms | chunk gap +${fixed(s.chunkGapMs - d.chunkGapMs, 3)} ms`);
    }
  } finally {
    for (const server of slow.all) server.child.kill();
  }

  const long = await startTrio(200);
  try {
    const memory = await openStreamsMemory(long.proxy, OPEN_STREAMS);
    results.memory = memory;
    rows.push('');
    rows.push(`Proxy resident memory with ${memory.open} streams open at once: ${fixed(memory.residentMb, 1)} MB (idle ${fixed(memory.idleMb, 1)} MB)`);
    (results.targets as Record<string, number>).residentMbWithOpenStreams = memory.residentMb;
  } finally {
    for (const server of long.all) server.child.kill();
  }

  const targets = results.targets as Record<string, number>;
  rows.push('');
  rows.push('Targets');
  rows.push(`  proxy rps >= 0.8x pass-through at 16 clients: ${fixed(targets.rpsRatioToPassThroughAt16 ?? Number.NaN)}x`);
  rows.push(`  proxy rps >= 0.8x pass-through at 64 clients: ${fixed(targets.rpsRatioToPassThroughAt64 ?? Number.NaN)}x`);
  rows.push(`  added p50 within 0.2 ms of pass-through at 1 client: ${fixed(targets.addedP50OverPassThroughAt1Ms ?? Number.NaN, 3)} ms`);
  rows.push(`  resident memory <= 150 MB at ${OPEN_STREAMS} streams: ${fixed(targets.residentMbWithOpenStreams ?? Number.NaN, 1)} MB`);
  rows.push(`  failed requests: ${String(results.errors)}`);
  console.info(rows.join('\n'));
  writeFileSync(join(OUT, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.info(`\nwritten to bench/results/latest.json`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
