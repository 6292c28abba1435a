// `npm test`'s last step: the Jest suite under every Node.js major the app is deployed on (package.json
// `engines`), one after the other, then one closing line over all of them. Arguments go to Jest.
// PROXY_TEST_RUNTIMES=current runs it once, under this machine's Node, for a quick local loop. A runtime that
// cannot be had (no registry, another platform) is skipped with a plain note, except in CI (CI=true), where every
// deployed runtime must run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { deployedMajors, nodeRuntime, ROOT } from './nodeRuntimes.mjs';

const ci = process.env.CI === 'true' || process.env.CI === '1';
const only = process.env.PROXY_TEST_RUNTIMES;
const majors = only === 'current' ? [process.versions.node.split('.')[0]] : deployedMajors();
const jest = join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
const scratch = mkdtempSync(join(tmpdir(), 'proxy-test-'));
const totals = { passed: 0, failed: 0, skipped: 0 };
const lines = [];
let failedRuns = 0;

for (const major of majors) {
  const runtime = nodeRuntime(major);
  if ('error' in runtime) {
    lines.push(`Node ${major}: not run (${runtime.error})`);
    if (ci) failedRuns += 1;
    continue;
  }
  console.info(`\n=== Jest under Node ${runtime.version} (${runtime.bin})\n`);
  const summaryFile = join(scratch, `${major}.json`);
  const run = spawnSync(runtime.bin, [jest, ...process.argv.slice(2)], {
    cwd: ROOT,
    stdio: 'inherit',
    // Child processes the tests start (the proxy, the emulator, the stand-in worker) run this Node too.
    env: { ...process.env, PATH: `${dirname(runtime.bin)}${delimiter}${process.env.PATH ?? ''}`, PROXY_TEST_SUMMARY_FILE: summaryFile },
  });
  let counts;
  try {
    counts = JSON.parse(readFileSync(summaryFile, 'utf8'));
  } catch {
    counts = undefined;
  }
  if (run.status !== 0 || !counts) failedRuns += 1;
  if (counts) for (const key of Object.keys(totals)) totals[key] += counts[key];
  lines.push(`Node ${runtime.version}: ${counts ? `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped` : `Jest ended with ${run.status ?? run.signal}`}`);
}
rmSync(scratch, { recursive: true, force: true });

process.stderr.write(`\n${lines.join('\n')}\nTests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exitCode = failedRuns === 0 ? 0 : 1;
