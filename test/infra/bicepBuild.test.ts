/**
 * infra/main.bicep compiled and linted by the real Bicep CLI (scripts/bicep.mjs: on PATH, from `az bicep install`,
 * or restored from NuGet), with bicepconfig.json's rules. Any warning fails: one the template accepts is
 * suppressed in it, with its reason. Where no CLI can be had the test is skipped, and says so in its title;
 * under CI=true it must run.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const bicep = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'scripts', 'bicep.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const probe = bicep('--version');
const available = probe.status === 0;
const ci = process.env.CI === 'true' || process.env.CI === '1';
const check = available || ci ? it : it.skip;
const skipped = available ? '' : ` (skipped: ${probe.stderr.trim()})`;

interface ArmTemplate {
  parameters: Record<string, { defaultValue?: unknown; allowedValues?: unknown[] }>;
  outputs: Record<string, { type: string }>;
}

describe(`the Bicep CLI${skipped}`, () => {
  check('finds a Bicep CLI (required under CI=true)', () => {
    expect({ status: probe.status, stderr: probe.stderr }).toEqual({ status: 0, stderr: '' });
  });

  check('compiles infra/main.bicep without a warning, to a template with the parameters and outputs azd and the seed step use', () => {
    const build = bicep('build', 'infra/main.bicep', '--stdout');
    expect({ status: build.status, diagnostics: build.stderr.trim() }).toEqual({ status: 0, diagnostics: '' });
    const template = JSON.parse(build.stdout) as ArmTemplate;
    const majors = [...(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node.matchAll(/\^(\d+)/g)].map((m) => m[1]);
    expect(template.parameters.nodeVersion?.allowedValues).toEqual(majors);
    expect(Object.keys(template.outputs).sort()).toEqual(['APP_CONFIGURATION_ENDPOINT', 'APP_CONFIGURATION_SEED', 'FUNCTION_APP_NAME', 'FUNCTION_APP_URL', 'IDENTITY_PRINCIPAL_ID']);
  }, 60_000);

  check('lints infra/main.bicep clean', () => {
    const lint = bicep('lint', 'infra/main.bicep');
    expect({ status: lint.status, diagnostics: lint.stderr.trim() + lint.stdout.trim() }).toEqual({ status: 0, diagnostics: '' });
  }, 60_000);
});
