/**
 * Instructions a request, counted rather than timed, once V8 has done optimising: a server runs under valgrind's
 * callgrind with one client; after `warmUp` answers its counts are zeroed, after `counted` more they are dumped
 * (`callgrind_control`), so what is counted is the server's steady state, the one the CPU rows time, and not its
 * start or V8's tiering up (which goes on for the proxy's first ~30,000 requests: counted over answers 5,000 to
 * 10,000, as before 2026-11-28's eighth round, both servers read ~10% higher than in their steady state). V8's
 * compiler is left out of the counts: under valgrind it runs on the main thread, and still compiles now and then; a
 * major collection is counted apart (MAJOR_GC). Steadier than CPU time on a shared machine (runs of one build differ
 * by a few percent, CPU windows by tens), and blind to what CPU time also sees: the kernel, caches, the compiler's
 * threads. Needs valgrind (the Debian package, whose `callgrind_control` is a Perl script); `npm run bench` does
 * not: this is its `BENCH_ONLY=instructions` section.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { saturate } from './saturate';

/**
 * Instructions by function, from a callgrind output file: each function's own rows (`<position> <count>`), not the
 * row after a `calls=` line, which is what the call cost, counted in the function called. Names are compressed
 * (`fn=(12) name` the first time, `fn=(12)` after).
 */
export function instructionsByFunction(text: string): Map<string, number> {
  const names = new Map<string, string>();
  const counts = new Map<string, number>();
  let current = '';
  let callCost = false;
  for (const line of text.split('\n')) {
    const named = /^(c?fn)=(?:\((\d+)\))? ?(.*)$/.exec(line);
    if (named !== null) {
      const [, kind, id, name] = named as unknown as [string, string, string | undefined, string];
      if (id !== undefined && name !== '') names.set(id, name);
      if (kind === 'fn') current = id === undefined ? name : (names.get(id) ?? name);
      continue;
    }
    if (line.startsWith('calls=')) {
      callCost = true;
      continue;
    }
    const row = /^[+-]?\d+ (\d+)$|^\* (\d+)$/.exec(line);
    if (row === null) continue;
    if (callCost) {
      callCost = false;
      continue;
    }
    counts.set(current, (counts.get(current) ?? 0) + Number(row[1] ?? row[2]));
  }
  return counts;
}

/** V8's parser and its compilers' tiers (Ignition's bytecode generator, Sparkplug, Maglev, TurboFan, Turboshaft). */
const COMPILER = /compiler::|turboshaft::|maglev::|baseline::|interpreter::BytecodeGenerator|Scanner|Parser|AstValueFactory|AstRawString|Zone::|RegisterAllocat|LiveRange|InstructionSelector|CodeGenerator|Assembler::|GraphReducer/;

/**
 * V8's major collection: marking, sweeping, compacting the old generation. One comes every so many thousand requests
 * and costs tens of thousands of instructions a request over a count of 5,000: whether one falls in a count moved it
 * by 10% between runs of one build. Counted apart, so that builds compare on the rest.
 */
const MAJOR_GC = /MarkCompact|Marking|MainMarkingVisitor|Sweeper|Evacuat|RememberedSet|LiveObjectVisitor|RecordMigrated|ActiveSystemPages/;

/** Instructions of a count (or a request's share of them): its work, and any major collection that fell in it. */
export interface RequestInstructions {
  work: number;
  majorCollection: number;
}

/** A run's instructions by function, sorted: V8 compiling left out, a major collection apart from the rest. */
export function requestWork(counts: ReadonlyMap<string, number>): RequestInstructions {
  const sorted = { work: 0, majorCollection: 0 };
  for (const [name, count] of counts) {
    if (MAJOR_GC.test(name)) sorted.majorCollection += count;
    else if (!COMPILER.test(name)) sorted.work += count;
  }
  return sorted;
}

export function hasValgrind(): boolean {
  return spawnSync('valgrind', ['--version'], { stdio: 'ignore' }).status === 0 && spawnSync('callgrind_control', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface CountedServer {
  /** The Node binary, its arguments and the environment the server runs with. */
  node: string;
  args: readonly string[];
  env: Record<string, string>;
  /** The line the server prints when it listens, with its URL. */
  listening: RegExp;
  request: { path: string; headers: Record<string, string>; body: string };
  /** Where its output and callgrind's files go (`<prefix>.log`, `<prefix>.out`, the dump `<prefix>.out.1`). */
  prefix: string;
}

export interface CountedAnswers {
  /** Answers before the count starts: V8 optimises the proxy's code over its first ~30,000. */
  warmUp: number;
  counted: number;
}

/** Tells callgrind, in the server's process, to zero its counts or to dump them. */
function control(pid: number, command: '--zero' | '--dump'): void {
  const result = spawnSync('callgrind_control', [command, String(pid)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`callgrind_control ${command} ${pid} failed: ${result.stderr}${result.stdout}`);
}

/** User-space instructions a request in the server's steady state, V8's compiler left out (see the top of this file). */
export async function instructionsPerRequest(server: CountedServer, answers: CountedAnswers): Promise<RequestInstructions> {
  const log = `${server.prefix}.log`;
  const out = `${server.prefix}.out`;
  rmSync(out, { force: true });
  rmSync(`${out}.1`, { force: true });
  const fd = openSync(log, 'w');
  const args = ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${out}`, server.node, '--single-threaded', ...server.args];
  const child = spawn('valgrind', args, { env: { PATH: process.env.PATH, ...server.env }, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let running = true;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running = false;
      resolve();
    }),
  );
  try {
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
    /** Resolves once the server has given `count` answers; rejects if it ends before. */
    const answered = (count: number): Promise<number> =>
      new Promise<number>((resolve, reject) => {
        const poll = setInterval(() => {
          if (load.answers < count && running) return;
          clearInterval(poll);
          if (running) resolve(load.answers);
          // A server that ended before its answers were in would leave the count waiting for ever.
          else reject(new Error(`${server.prefix} ended after ${load.answers} of ${count} answers:\n${readFileSync(log, 'utf8')}`));
        }, 5);
      });
    try {
      await answered(answers.warmUp);
      // Each command takes a moment (a few answers, at callgrind's pace): the answers are read as each returns, at
      // both ends alike, so that the few on either side of a count's edge are as likely counted as not.
      control(child.pid as number, '--zero');
      const from = load.answers;
      await answered(from + answers.counted);
      control(child.pid as number, '--dump');
      const count = load.answers - from;
      const { work, majorCollection } = requestWork(instructionsByFunction(readFileSync(`${out}.1`, 'utf8')));
      return { work: work / count, majorCollection: majorCollection / count };
    } finally {
      try {
        load.close();
      } catch {
        // Its connections failed with the server: the server's end is the error told.
      }
    }
  } finally {
    child.kill('SIGINT');
    await exited;
  }
}
