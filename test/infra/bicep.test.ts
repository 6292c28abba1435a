/**
 * There is no Bicep CLI or Azure here, so this reads the templates as text and checks what matters for a secure,
 * working deployment. Each check fails when the template loses what it checks.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { assembleConfig, SETTING_NAMES } from '../../src/core/config';

const ROOT = join(__dirname, '..', '..');
const INFRA = join(ROOT, 'infra');
const files = [join(INFRA, 'main.bicep'), ...readdirSync(join(INFRA, 'app')).filter((f) => f.endsWith('.bicep')).map((f) => join(INFRA, 'app', f))];
const text = (file: string): string => readFileSync(file, 'utf8');
const all = files.map(text).join('\n');
const main = text(join(INFRA, 'main.bicep'));
/** The template without its comments, so that a comment cannot satisfy a check. */
const code = (source: string): string => source.replace(/\/\/.*$/gm, '');

interface Declared {
  symbol: string;
  type: string;
  apiVersion: string;
  existing: boolean;
}

function resources(source: string): Declared[] {
  return [...code(source).matchAll(/^\s*resource (\w+) '([^'@]+)@([^']+)'( existing)? =/gm)].map((m) => ({
    symbol: m[1]!,
    type: m[2]!,
    apiVersion: m[3]!,
    existing: m[4] !== undefined,
  }));
}

function params(source: string): Array<{ name: string; hasDefault: boolean }> {
  return [...code(source).matchAll(/^param (\w+) \w+( =)?/gm)].map((m) => ({ name: m[1]!, hasDefault: m[2] !== undefined }));
}

describe('infra/*.bicep', () => {
  const declared = files.flatMap((f) => resources(text(f))).filter((r) => !r.existing);

  it.each([
    ['Microsoft.Web/sites', '2024-04-01'],
    ['Microsoft.Web/serverfarms', '2024-04-01'],
    ['Microsoft.Web/sites/config', '2024-04-01'],
    ['Microsoft.Storage/storageAccounts', '2023-05-01'],
    ['Microsoft.Storage/storageAccounts/blobServices/containers', '2023-05-01'],
    ['Microsoft.Insights/components', '2020-02-02'],
    ['Microsoft.OperationalInsights/workspaces', '2023-09-01'],
    ['Microsoft.AppConfiguration/configurationStores', '2024-05-01'],
    ['Microsoft.AppConfiguration/configurationStores/keyValues', '2024-05-01'],
    ['Microsoft.ManagedIdentity/userAssignedIdentities', '2023-01-31'],
    ['Microsoft.Authorization/roleAssignments', '2022-04-01'],
  ])('declares %s@%s', (type, apiVersion) => {
    expect(declared).toContainEqual(expect.objectContaining({ type, apiVersion }));
  });

  it('uses no registry modules, only its own files, so it builds offline', () => {
    const modules = files.flatMap((f) => [...code(text(f)).matchAll(/^\s*module \w+ '([^']+)'/gm)].map((m) => ({ from: f, path: m[1]! })));
    expect(modules.length).toBeGreaterThan(0);
    for (const { from, path } of modules) {
      expect(path).not.toMatch(/^(br|ts)[:/]/);
      expect(existsSync(join(dirname(from), path))).toBe(true);
    }
  });

  it('runs Node 20 (22 selectable) on the Flex Consumption plan', () => {
    expect(all).toMatch(/name: 'FC1'\s+tier: 'FlexConsumption'/);
    expect(main).toMatch(/@allowed\(\[\s*'20'\s*'22'\s*\]\)\s*param nodeVersion string = '20'/);
    expect(code(all)).toMatch(/runtime: \{\s*name: 'node'\s*version: nodeVersion\s*\}/);
  });

  it('gives the app a system-assigned identity by default, and a user-assigned one as an option', () => {
    expect(main).toMatch(/@allowed\(\[\s*'SystemAssigned'\s*'UserAssigned'\s*\]\)\s*param identityType string = 'SystemAssigned'/);
    expect(code(all)).toContain("type: 'SystemAssigned'");
    expect(code(all)).toContain("type: 'UserAssigned'");
  });

  it('reaches storage by identity only: no shared keys, no connection strings', () => {
    expect(code(all)).toContain('allowSharedKeyAccess: false');
    expect(code(all)).toContain("AzureWebJobsStorage__credential: 'managedidentity'");
    expect(code(all)).toContain("type: 'SystemAssignedIdentity'");
    expect(code(all)).toContain("type: 'UserAssignedIdentity'");
    expect(code(all)).not.toMatch(/listKeys\(|AccountKey=|AzureWebJobsStorage:/);
  });

  it('reads App Configuration by identity only', () => {
    expect(code(all)).toContain('disableLocalAuth: true');
  });

  it.each([
    ['Cognitive Services OpenAI User', '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'],
    ['App Configuration Data Reader', '516239f1-63e1-4d78-a4de-a74fb236a071'],
    ['Storage Blob Data Owner', 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'],
  ])('assigns %s (%s) to the app identity', (_role, id) => {
    const file = files.find((f) => code(text(f)).includes(`'${id}'`));
    expect(file).toBeDefined();
    const source = code(text(file!));
    expect(source).toMatch(/resource \w+ 'Microsoft\.Authorization\/roleAssignments@2022-04-01'/);
    expect(source).toContain("subscriptionResourceId('Microsoft.Authorization/roleDefinitions'");
  });

  it('grants the Azure OpenAI role on every account given, in the account own resource group', () => {
    expect(code(main)).toMatch(/for \(accountId, index\) in filter\(openAIAccountIds, id => !empty\(id\)\)/);
    expect(code(main)).toContain("scope: resourceGroup(split(accountId, '/')[2], split(accountId, '/')[4])");
  });

  it('puts no secret in a parameter or an output', () => {
    for (const file of files) {
      const source = code(text(file));
      expect(source).not.toMatch(/@secure\(\)/);
      for (const { name } of params(source)) expect(name).not.toMatch(/key$|secret|password|token|connectionstring/i);
      for (const [, name, expression] of source.matchAll(/^output (\w+) \w+ = (.*)$/gm)) {
        expect(name).not.toMatch(/key|secret|password|token|connection/i);
        expect(expression).not.toMatch(/listKeys|ConnectionString|connectionString/);
      }
    }
  });

  it('uses every parameter it declares', () => {
    for (const file of files) {
      const source = code(text(file));
      for (const { name } of params(source)) {
        const uses = source.match(new RegExp(`\\b${name}\\b`, 'g'))?.length ?? 0;
        expect({ file, name, used: uses > 1 }).toEqual({ file, name, used: true });
      }
    }
  });

  it('passes each module exactly the parameters it declares, and every one without a default', () => {
    for (const file of files) {
      const source = code(text(file));
      // A module's params block, closed at the indentation it opened at; its entries are one level deeper.
      for (const [, path, indent, body] of source.matchAll(/module \w+ '([^']+)' = [^{]*\{[\s\S]*?^( *)params: \{\n([\s\S]*?)\n\2\}/gm)) {
        const target = params(text(join(dirname(file), path!)));
        const passed = [...body!.matchAll(new RegExp(`^${indent}  (\\w+):`, 'gm'))].map((m) => m[1]);
        expect(passed.length).toBeGreaterThan(0);
        for (const name of passed) expect(target.map((p) => p.name)).toContain(name);
        for (const p of target.filter((t) => !t.hasDefault)) expect({ module: path, missing: p.name, passed: passed.includes(p.name) }).toEqual({ module: path, missing: p.name, passed: true });
      }
    }
  });

  describe('the app settings it sets', () => {
    const settings = new Set([...code(all).matchAll(/^\s+([A-Za-z][A-Za-z0-9_]*(?:__\w+)?): /gm)].map((m) => m[1]!).filter((n) => /^(AZURE_|APPLICATIONINSIGHTS_|AzureWebJobsStorage__|PROXY_)/.test(n)));
    const read = new Set<string>([...Object.values(SETTING_NAMES).flat(), 'APPLICATIONINSIGHTS_CONNECTION_STRING']);

    it('are all settings the code reads (no typo can hide)', () => {
      for (const name of settings) if (!name.startsWith('AzureWebJobsStorage__')) expect(read).toContain(name);
    });

    it('include what this deployment needs', () => {
      for (const name of ['AZURE_OPENAI_ENDPOINT', 'AZURE_OPENAI_AUTH', 'AZURE_APPCONFIG_ENDPOINT', 'AZURE_APPCONFIG_KEY_PREFIX', 'AZURE_APPCONFIG_LABEL', 'AZURE_CLIENT_ID', 'APPLICATIONINSIGHTS_CONNECTION_STRING', 'AzureWebJobsStorage__accountName', 'AzureWebJobsStorage__credential', 'AzureWebJobsStorage__clientId']) {
        expect(settings).toContain(name);
      }
    });

    it.each(['managed-identity', 'passthrough'])('make a valid proxy configuration with auth %s', (auth) => {
      expect(main).toContain(`'${auth}'`);
      const config = assembleConfig({
        AZURE_OPENAI_ENDPOINT: 'https://my-resource.openai.azure.com',
        AZURE_OPENAI_AUTH: auth,
        AZURE_APPCONFIG_ENDPOINT: 'https://my-store.azconfig.io',
        AZURE_APPCONFIG_KEY_PREFIX: 'openai-proxy:',
        AZURE_CLIENT_ID: '00000000-0000-0000-0000-000000000000',
      });
      expect(config.azure.auth).toBe(auth);
      expect(config.appConfiguration?.endpoint).toBe('https://my-store.azconfig.io');
    });
  });

  it('seeds the model map and client keys under the proxy prefix, in key-value resource names', () => {
    expect(code(all)).toContain("name: '${replace('${keyPrefix}model-map/${entry.key}', '/', '~2F')}${labelSuffix}'");
    expect(code(all)).toContain("name: '${replace('${keyPrefix}client-keys/${entry.key}', '/', '~2F')}${labelSuffix}'");
    expect(code(all)).toContain("name: '${replace('${keyPrefix}${entry.key}', '/', '~2F')}${labelSuffix}'");
  });

  it('outputs the app URL and the identity principal id', () => {
    expect(code(main)).toMatch(/^output functionAppUrl string = '\$\{functionApp\.outputs\.uri\}\/v1'$/m);
    expect(code(main)).toMatch(/^output identityPrincipalId string = principalId$/m);
  });

  it('has parameters that main.bicep declares, with every required one given', () => {
    const file = JSON.parse(text(join(INFRA, 'main.parameters.json'))) as { parameters: Record<string, unknown> };
    const declaredParams = params(main);
    for (const name of Object.keys(file.parameters)) expect(declaredParams.map((p) => p.name)).toContain(name);
    for (const p of declaredParams.filter((d) => !d.hasDefault)) expect(Object.keys(file.parameters)).toContain(p.name);
  });
});

describe('the rest of the deployment', () => {
  it('azure.yaml deploys the bundled package as it is', () => {
    const yaml = text(join(ROOT, 'azure.yaml'));
    expect(yaml).toMatch(/services:\s+api:\s+project: \.\s+language: ts\s+host: function/);
    expect(yaml).toMatch(/\n {4}dist: dist\/package\n/);
    // azd refuses remoteBuild: false when a .funcignore at the project excludes node_modules; there is none.
    expect(yaml).toMatch(/\n {4}remoteBuild: false\n/);
    expect(existsSync(join(ROOT, '.funcignore'))).toBe(false);
    expect(yaml).toMatch(/infra:\s+provider: bicep\s+path: infra/);
    expect(code(all)).toContain("'azd-service-name': 'api'");
  });

  it('host.json serves /v1 without a prefix, allows long streams, and samples no errors away', () => {
    const host = JSON.parse(text(join(ROOT, 'host.json'))) as {
      extensions: { http: { routePrefix: string } };
      functionTimeout: string;
      logging: { applicationInsights: { samplingSettings: { excludedTypes: string } } };
    };
    expect(host.extensions.http.routePrefix).toBe('');
    const [hours, minutes] = host.functionTimeout.split(':').map(Number);
    expect(hours! * 60 + minutes!).toBeGreaterThanOrEqual(30);
    expect(host.logging.applicationInsights.samplingSettings.excludedTypes.split(';')).toEqual(expect.arrayContaining(['Request', 'Exception']));
  });

  it('package.json builds the package and publishes that folder with Core Tools, from a fresh clone', () => {
    const pkg = JSON.parse(text(join(ROOT, 'package.json'))) as { scripts: Record<string, string>; optionalDependencies: Record<string, string> };
    expect(pkg.scripts.build).toContain('node scripts/package.mjs');
    expect(pkg.scripts['publish:azure']).toBe('npm run build && node scripts/func.mjs publish');
    const func = text(join(ROOT, 'scripts', 'func.mjs'));
    // No local.settings.json in a fresh clone: the language is given, and nothing is built on the way.
    expect(func).toContain("args = ['azure', 'functionapp', 'publish', app, '--javascript', '--no-build', ...options];");
    expect(func).toContain("const PACKAGE = join(ROOT, 'dist', 'package');");
    expect(pkg.optionalDependencies['azure-functions-core-tools']).toBeDefined();
  });
});
