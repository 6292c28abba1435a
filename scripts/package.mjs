// Builds the package Azure runs: the folder that `npm run publish:azure` and `azd deploy` zip and upload.
//
//   functions.js          every function in src/functions, bundled with what they import (the `main` Azure loads)
//   lazy/azure-sdk.js     @azure/identity, @azure/app-configuration and @azure/data-tables, loaded only when a setting uses them
//   lazy/telemetry.js     OpenTelemetry metrics and the Azure Monitor exporter, loaded only with Application Insights
//   node_modules/<sdk>/   one-line stubs, so the app's `require('@azure/identity')` finds its lazy bundle
//   host.json, package.json
//
// Flex Consumption fetches the whole package on every cold start, and a full `npm ci --omit=dev` is about 100 MB in
// 12,000 files; this is a few MB in a dozen. Each lazy bundle holds its SDKs together with the modules they share
// (the Azure core libraries; the one @opentelemetry/api the exporter and the metrics SDK must both use), and is
// evaluated module by module on first use, as `require` would. `@azure/functions-core` is the worker's own
// built-in module and stays a `require`.
//
// Usage: node scripts/package.mjs [outDir]   (default dist/package)
import { build } from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ROOT } from './nodeRuntimes.mjs';

/** Each lazily loaded SDK, by the bundle it lives in. */
const LAZY = {
  'azure-sdk': ['@azure/identity', '@azure/app-configuration', '@azure/data-tables'],
  telemetry: ['@opentelemetry/sdk-metrics', '@azure/monitor-opentelemetry-exporter'],
};
const LAZY_SDKS = Object.values(LAZY).flat();

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  // The oldest runtime the app is deployed on (package.json engines).
  target: 'node22',
  // Whitespace and syntax only: names stay, so stack traces in the logs still say which function failed.
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  absWorkingDir: ROOT,
};

export async function buildPackage(outDir = join(ROOT, 'dist', 'package')) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });

  const functionFiles = readdirSync(join(ROOT, 'src', 'functions')).filter((f) => f.endsWith('.ts')).sort();
  const app = await build({
    ...common,
    stdin: {
      // The files in the order the worker would load them from a `main` glob (which sorts them).
      contents: functionFiles.map((f) => `require('./src/functions/${f.replace(/\.ts$/, '')}');`).join('\n'),
      resolveDir: ROOT,
      sourcefile: 'functions.js',
      loader: 'js',
    },
    outfile: join(outDir, 'functions.js'),
    external: ['@azure/functions-core', ...LAZY_SDKS],
    metafile: true,
  });

  for (const [bundle, sdks] of Object.entries(LAZY)) {
    await build({
      ...common,
      stdin: {
        // A getter per SDK: requiring one evaluates only its own modules (and what they import).
        contents: sdks.map((sdk) => `Object.defineProperty(exports, ${JSON.stringify(sdk)}, { enumerable: true, get: () => require(${JSON.stringify(sdk)}) });`).join('\n'),
        resolveDir: ROOT,
        sourcefile: `${bundle}.js`,
        loader: 'js',
      },
      outfile: join(outDir, 'lazy', `${bundle}.js`),
    });
    for (const sdk of sdks) {
      const dir = join(outDir, 'node_modules', ...sdk.split('/'));
      mkdirSync(dir, { recursive: true });
      const version = JSON.parse(readFileSync(join(ROOT, 'node_modules', ...sdk.split('/'), 'package.json'), 'utf8')).version;
      writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: sdk, version, main: 'index.js' })}\n`);
      writeFileSync(join(dir, 'index.js'), `module.exports = require(${JSON.stringify(relative(dir, join(outDir, 'lazy', `${bundle}.js`)))})[${JSON.stringify(sdk)}];\n`);
    }
  }

  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  writeFileSync(
    join(outDir, 'package.json'),
    `${JSON.stringify({ name: pkg.name, version: pkg.version, description: pkg.description, license: pkg.license, private: true, main: 'functions.js', engines: pkg.engines }, null, 2)}\n`,
  );
  copyFileSync(join(ROOT, 'host.json'), join(outDir, 'host.json'));
  return { outDir, inputs: Object.keys(app.metafile.inputs).length };
}

if (resolve(process.argv[1] ?? '') === resolve(new URL(import.meta.url).pathname)) {
  const { outDir, inputs } = await buildPackage(process.argv[2] ? resolve(process.argv[2]) : undefined);
  console.info(`Package: ${relative(ROOT, outDir) || outDir} (functions.js from ${inputs} modules)`);
}
