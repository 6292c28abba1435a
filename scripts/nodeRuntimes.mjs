// The Node.js runtimes the app is deployed on, and a `node` binary for each: the machine's own when its major
// matches, else the official build from the npm registry (`node-<platform>-<arch>@<major>`, the package the
// `node` npm package installs), kept in node_modules/.cache so `npm ci` starts clean.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(ROOT, 'node_modules', '.cache', 'node-runtimes');

/** The majors `engines.node` allows (`^22 || ^24`): the single list the template and the tests follow. */
export function deployedMajors() {
  const range = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines.node;
  const majors = [...range.matchAll(/\^(\d+)/g)].map((m) => m[1]);
  if (majors.length === 0) throw new Error(`package.json engines.node (${range}) names no major as ^N`);
  return majors;
}

/**
 * The path of a `node` of this major, installing it from the npm registry when needed.
 * @returns {{ bin: string, version: string } | { error: string }}
 */
export function nodeRuntime(major) {
  if (process.versions.node.split('.')[0] === major) return { bin: process.execPath, version: process.version };
  const pkg = `node-${process.platform}-${process.arch}`;
  const prefix = join(CACHE, major);
  const bin = join(prefix, 'node_modules', pkg, 'bin', 'node');
  if (!existsSync(bin)) {
    mkdirSync(prefix, { recursive: true });
    try {
      execFileSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--ignore-scripts', `${pkg}@${major}`], { stdio: 'pipe' });
    } catch (error) {
      const output = String(error.stderr ?? error.message).trim().split('\n').slice(-3).join(' ');
      return { error: `npm could not install ${pkg}@${major}: ${output}` };
    }
  }
  if (!existsSync(bin)) return { error: `${pkg}@${major} installed no ${bin}` };
  return { bin, version: execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim() };
}
