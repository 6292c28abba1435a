// Runs Azure Functions Core Tools (`func`) for `npm run publish:azure` and `npm run start:func`, with the flags
// a fresh clone needs: Core Tools reads the language from local.settings.json, which is never committed, and
// without `--javascript` stops with "Can't determine project language". Core Tools is an optional dependency
// (its install downloads `func`), so when it is missing this says what to do instead of `func: not found`.
//
//   node scripts/func.mjs publish <function app name> [func options]   publishes dist/package (npm run build)
//   node scripts/func.mjs start [func options]                          func start in the project
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ROOT } from './nodeRuntimes.mjs';

const PACKAGE = join(ROOT, 'dist', 'package');

function findFunc() {
  const local = join(ROOT, 'node_modules', '.bin', 'func');
  if (existsSync(local)) return local;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && existsSync(join(dir, 'func'))) return join(dir, 'func');
  return undefined;
}

function fail(message) {
  console.error(message);
  process.exit(2);
}

const [command, ...rest] = process.argv.slice(2);
const func = findFunc();
let args;
let cwd = ROOT;
if (command === 'publish') {
  const [app, ...options] = rest;
  if (!app || app.startsWith('-')) fail('Usage: npm run publish:azure -- <function app name>   (the functionAppName output of the deployment)');
  if (!existsSync(join(PACKAGE, 'functions.js'))) fail('dist/package is missing: run `npm run build` first.');
  // The package is built and bundled already: Core Tools uploads it as it is (no build, local or remote).
  args = ['azure', 'functionapp', 'publish', app, '--javascript', '--no-build', ...options];
  cwd = PACKAGE;
} else if (command === 'start') {
  args = ['start', '--javascript', ...rest];
} else {
  fail('Usage: node scripts/func.mjs publish <app> | start');
}
if (func === undefined) {
  fail(
    [
      'Azure Functions Core Tools (`func`) is not installed here (npm skips its optional install when it cannot download it).',
      'Install it: https://learn.microsoft.com/azure/azure-functions/functions-run-local#install-the-azure-functions-core-tools',
      command === 'publish'
        ? 'Or deploy without it: `azd deploy`, or zip dist/package and run `az functionapp deployment source config-zip -g <group> -n <app> --src <zip>`.'
        : 'Or run the proxy without it: `npm start`.',
    ].join('\n'),
  );
}
const run = spawnSync(func, args, { cwd, stdio: 'inherit' });
process.exit(run.status ?? 1);
