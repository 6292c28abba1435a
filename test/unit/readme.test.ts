/** The README's tables are kept in step with the route table and the settings, so users can trust them. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTING_NAMES } from '../../src/core/config/config';
import { ERROR_CATALOGUE } from '../../src/core/errors/catalogue';
import { FUNCTION_NAMES, ROUTE_TABLE } from '../../src/core/routes/routes';

const README = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('README', () => {
  it.each(ROUTE_TABLE.map((route) => [route.path, route.functionName]))('lists the route %s (function %s)', (path, functionName) => {
    // The path as a whole (not as the start of a longer one), with or without /v1 for the mocks.
    const listed = new RegExp(`(/v1)?${escape(path)}(?=[\`\\s,(])`);
    expect(README).toMatch(listed);
    expect(README).toContain(`\`${functionName}\``);
  });

  it('names every function in its tables', () => {
    for (const name of FUNCTION_NAMES) expect(README).toContain(`| \`${name}\` |`);
  });

  it('local.settings.json.example lists every setting under its preferred name', () => {
    const example = JSON.parse(readFileSync(join(__dirname, '..', '..', 'local.settings.json.example'), 'utf8')) as { Values: Record<string, string> };
    for (const [preferred] of Object.values(SETTING_NAMES)) expect(Object.keys(example.Values)).toContain(preferred);
  });

  it.each(Object.values(SETTING_NAMES).flat())('documents the setting %s', (name) => {
    const family = /^AZURE_OPENAI_API_VERSION_(\w+)$/.exec(name)?.[1];
    // The family api-versions share one row: `AZURE_OPENAI_API_VERSION_IMAGES`, `_AUDIO`, ...
    expect(README).toContain(family === undefined ? `\`${name}\`` : `_${family}\``);
  });

  it("lists exactly the error catalogue's codes, each with its status and type", () => {
    const rows = [...README.matchAll(/^\s*\| `(\w+)` \| (\d{3}) \| `(\w+)` \|/gm)].map((m) => [m[1], Number(m[2]), m[3]]);
    expect(rows).toEqual(Object.entries(ERROR_CATALOGUE).map(([code, { status, type }]) => [code, status, type]));
  });
});

describe('ARCHITECTURE.md', () => {
  const architecture = readFileSync(join(__dirname, '..', '..', 'ARCHITECTURE.md'), 'utf8');
  const SRC = join(__dirname, '..', '..', 'src');

  it('names only paths that exist', () => {
    const named = [...architecture.matchAll(/`((?:core|hosting|adapters|emulator|functions)\/[\w./-]*)`/g)].map((m) => m[1]!.replace(/\/$/, ''));
    expect(named.length).toBeGreaterThan(10);
    for (const path of named) expect({ path, exists: existsSync(join(SRC, path)) }).toEqual({ path, exists: true });
  });

  it('says where each folder of the core is', () => {
    const folders = readdirSync(join(SRC, 'core'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    for (const folder of folders) expect(architecture).toContain(`core/${folder}/`);
  });
});
