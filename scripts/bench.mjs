// `npm run bench`'s runner: the benchmark (dist/bench/run.js) under the Node.js Azure runs the app on, since its
// servers are measured as deployed: the template's default, the newest major of package.json `engines`
// (BENCH_NODE=22 for the other). Every process it starts runs that Node too. A runtime that cannot be had (no
// registry) falls back to this machine's Node, said plainly.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { deployedMajors, nodeRuntime, ROOT } from './nodeRuntimes.mjs';

const major = process.env.BENCH_NODE ?? deployedMajors().at(-1);
const runtime = nodeRuntime(major);
if ('error' in runtime) console.warn(`Node ${major} is not at hand (${runtime.error}): the bench runs under this machine's Node ${process.version}.`);
const bin = 'error' in runtime ? process.execPath : runtime.bin;
const run = spawnSync(bin, [join(ROOT, 'dist', 'bench', 'run.js')], { stdio: 'inherit', env: process.env });
process.exitCode = run.status ?? 1;
