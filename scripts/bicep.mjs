// Runs the Bicep CLI with the given arguments: `bicep` on PATH, else the one `az bicep install` keeps in
// ~/.azure/bin, else the CLI restored from NuGet
// (the package Azure.Bicep.CommandLine.<platform>, with the .NET SDK's `dotnet restore`) into node_modules/.cache.
// Exits 127, saying why, when none can be had; `npm test` then skips the Bicep build (and fails under CI=true).
//
//   node scripts/bicep.mjs build infra/main.bicep --stdout
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './nodeRuntimes.mjs';

const VERSION = '0.49.2';
const CACHE = join(ROOT, 'node_modules', '.cache', 'bicep');
const RIDS = { 'linux-x64': 'linux-x64', 'linux-arm64': 'linux-arm64', 'darwin-x64': 'osx-x64', 'darwin-arm64': 'osx-arm64', 'win32-x64': 'win-x64' };

function works(command, args) {
  return spawnSync(command, [...args, '--version'], { stdio: 'ignore' }).status === 0;
}

function fromNuGet() {
  const rid = RIDS[`${process.platform}-${process.arch}`];
  if (rid === undefined) return { error: `no Bicep CLI package for ${process.platform}-${process.arch}` };
  const id = `Azure.Bicep.CommandLine.${rid}`;
  const bin = join(CACHE, 'packages', id.toLowerCase(), VERSION, 'tools', process.platform === 'win32' ? 'bicep.exe' : 'bicep');
  if (!existsSync(bin)) {
    const project = join(CACHE, 'restore');
    mkdirSync(project, { recursive: true });
    // A project that only downloads the package: nothing is built.
    writeFileSync(
      join(project, 'restore.csproj'),
      `<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><TargetFramework>netstandard2.0</TargetFramework></PropertyGroup>` +
        `<ItemGroup><PackageDownload Include="${id}" Version="[${VERSION}]" /></ItemGroup></Project>\n`,
    );
    try {
      execFileSync('dotnet', ['restore', join(project, 'restore.csproj'), '--packages', join(CACHE, 'packages')], { stdio: 'pipe' });
    } catch (error) {
      const output = String(error.stdout ?? '') + String(error.stderr ?? error.message);
      return { error: `dotnet could not restore ${id} ${VERSION}: ${output.trim().split('\n').slice(-2).join(' ')}` };
    }
    if (!existsSync(bin)) return { error: `${id} ${VERSION} has no ${bin}` };
    chmodSync(bin, 0o755);
  }
  return { command: bin, args: [] };
}

function findBicep() {
  if (works('bicep', [])) return { command: 'bicep', args: [] };
  const fromAz = join(homedir(), '.azure', 'bin', process.platform === 'win32' ? 'bicep.exe' : 'bicep');
  if (existsSync(fromAz) && works(fromAz, [])) return { command: fromAz, args: [] };
  return fromNuGet();
}

const bicep = findBicep();
if ('error' in bicep) {
  console.error(`No Bicep CLI: not on PATH, none from \`az bicep install\`, and ${bicep.error}.`);
  process.exit(127);
}
const run = spawnSync(bicep.command, [...bicep.args, ...process.argv.slice(2)], { cwd: ROOT, stdio: 'inherit' });
process.exit(run.status ?? 1);
