/**
 * Instructions a request, counted rather than timed: a server run under valgrind's cachegrind twice, once for
 * `answers[0]` answers and once for `answers[1]`, one client at a time; the difference of the two counts over the
 * difference of the answers is what one request costs in user-space instructions, without the server's start.
 * V8's compiler is left out of the counts: under valgrind it runs on the main thread and keeps compiling, which
 * says nothing of a request's own work. Steadier than CPU time on a shared machine (runs of one build differ by a few
 * percent, CPU windows by tens), and blind to what CPU time also sees: the kernel, caches, the compiler's threads.
 * Needs valgrind (the Debian package); `npm run bench` does not: this is its `BENCH_ONLY=instructions` section.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { saturate } from './saturate';

/** Instructions by function, from a cachegrind output file (`fn=` names, then `<line> <count>` rows). */
export function instructionsByFunction(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  let current = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('fn=')) {
      current = line.slice(3);
      continue;
    }
    const row = /^\d+ (\d+)$/.exec(line);
    if (row !== null) counts.set(current, (counts.get(current) ?? 0) + Number(row[1]));
  }
  return counts;
}

/** V8's parser and its compilers' tiers (Ignition's bytecode generator, Sparkplug, Maglev, TurboFan, Turboshaft). */
const COMPILER = /compiler::|turboshaft::|maglev::|baseline::|interpreter::BytecodeGenerator|Scanner|Parser|AstValueFactory|AstRawString|Zone::|RegisterAllocat|LiveRange|InstructionSelector|CodeGenerator|Assembler::|GraphReducer/;

/** The instructions of a run that were not V8 compiling. */
export function requestWork(counts: ReadonlyMap<string, number>): number {
  let total = 0;
  for (const [name, count] of counts) if (!COMPILER.test(name)) total += count;
  return total;
}

export function hasValgrind(): boolean {
  return spawnSync('valgrind', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface CountedServer {
  /** The Node binary, its arguments and the environment the server runs with. */
  node: string;
  args: readonly string[];
  env: Record<string, string>;
  /** The line the server prints when it listens, with its URL. */
  listening: RegExp;
  request: { path: string; headers: Record<string, string>; body: string };
  /** Where its output and cachegrind's file go (`<prefix>.log`, `<prefix>.out`). */
  prefix: string;
}

/** One run under cachegrind until `answers` answers: its instructions not compiling, and the answers it gave. */
async function countedRun(server: CountedServer, answers: number): Promise<{ instructions: number; answers: number }> {
  const log = `${server.prefix}.log`;
  const out = `${server.prefix}.out`;
  rmSync(out, { force: true });
  const fd = openSync(log, 'w');
  const args = ['--tool=cachegrind', '--cache-sim=no', '--smc-check=all-non-file', `--cachegrind-out-file=${out}`, server.node, '--single-threaded', ...server.args];
  const child = spawn('valgrind', args, { env: { PATH: process.env.PATH, ...server.env }, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let running = true;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running = false;
      resolve();
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    // A server starts in seconds under valgrind, not milliseconds.
    const timer = setTimeout(() => {
      clearInterval(poll);
      reject(new Error(`${server.prefix} did not start under valgrind:\n${readFileSync(log, 'utf8')}`));
    }, 120_000);
    const poll = setInterval(() => {
      const found = server.listening.exec(readFileSync(log, 'utf8'))?.[1];
      if (found === undefined) return;
      clearInterval(poll);
      clearTimeout(timer);
      resolve(found);
    }, 100);
  });
  const load = saturate(url, 1, server.request);
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (load.answers < answers && running) return;
      clearInterval(poll);
      // A server that ended before its answers were in would leave the count waiting for ever.
      if (running) {
        resolve();
        return;
      }
      try {
        load.close();
      } catch {
        // Its connections failed with the server: the server's end is the error told.
      }
      reject(new Error(`${server.prefix} ended after ${load.answers} of ${answers} answers:\n${readFileSync(log, 'utf8')}`));
    }, 20);
  });
  const answered = load.answers;
  load.close();
  // Cachegrind writes its file when the process ends, a signal's end included.
  child.kill('SIGINT');
  await exited;
  return { instructions: requestWork(instructionsByFunction(readFileSync(out, 'utf8'))), answers: answered };
}

/** User-space instructions a request, V8's compiler left out (see the top of this file). */
export async function instructionsPerRequest(server: CountedServer, answers: readonly [number, number]): Promise<number> {
  const first = await countedRun({ ...server, prefix: `${server.prefix}-1` }, answers[0]);
  const second = await countedRun({ ...server, prefix: `${server.prefix}-2` }, answers[1]);
  return (second.instructions - first.instructions) / (second.answers - first.answers);
}
