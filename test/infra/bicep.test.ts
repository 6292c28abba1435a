/**
 * There is no Bicep CLI or Azure here, so this reads the templates as text and checks what matters for a secure,
 * working deployment. Each check fails when the template loses what it checks.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { assembleConfig, SETTING_NAMES } from '../../src/core/config/config';

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
    'Microsoft.Web/sites',
    'Microsoft.Web/serverfarms',
    'Microsoft.Storage/storageAccounts',
    'Microsoft.Storage/storageAccounts/blobServices/containers',
    'Microsoft.Insights/components',
    'Microsoft.OperationalInsights/workspaces',
    'Microsoft.AppConfiguration/configurationStores',
    'Microsoft.ManagedIdentity/userAssignedIdentities',
    'Microsoft.Authorization/roleAssignments',
  ])('declares %s', (type) => {
    expect(declared).toContainEqual(expect.objectContaining({ type }));
  });

  it('writes no key-values and no separate app settings resource (both race or replace; see the seeding step)', () => {
    expect(declared.map((r) => r.type)).not.toContain('Microsoft.AppConfiguration/configurationStores/keyValues');
    expect(declared.map((r) => r.type)).not.toContain('Microsoft.Web/sites/config');
  });

  it('has the linter hold API versions to two years at most (the Bicep build below runs it)', () => {
    const config = JSON.parse(text(join(ROOT, 'bicepconfig.json'))) as { analyzers: { core: { rules: Record<string, { level: string; maxAllowedAgeInDays?: number }> } } };
    expect(config.analyzers.core.rules['use-recent-api-versions']).toEqual({ level: 'warning', maxAllowedAgeInDays: 730 });
  });

  it('uses no registry modules, only its own files, so it builds offline', () => {
    const modules = files.flatMap((f) => [...code(text(f)).matchAll(/^\s*module \w+ '([^']+)'/gm)].map((m) => ({ from: f, path: m[1]! })));
    expect(modules.length).toBeGreaterThan(0);
    for (const { from, path } of modules) {
      expect(path).not.toMatch(/^(br|ts)[:/]/);
      expect(existsSync(join(dirname(from), path))).toBe(true);
    }
  });

  it('runs Node 24 by default on the Flex Consumption plan, and only the majors package.json engines allows', () => {
    expect(all).toMatch(/name: 'FC1'\s+tier: 'FlexConsumption'/);
    const engines = (JSON.parse(text(join(ROOT, 'package.json'))) as { engines: { node: string } }).engines.node;
    const majors = [...engines.matchAll(/\^(\d+)/g)].map((m) => m[1]);
    expect(majors).toEqual(['22', '24']);
    const allowed = /@allowed\(\[([^\]]*)\]\)\s*param nodeVersion string = '(\d+)'/.exec(main);
    expect(allowed?.[1]?.match(/\d+/g)).toEqual(majors);
    expect(allowed?.[2]).toBe('24');
    expect(code(all)).toMatch(/runtime: \{\s*name: 'node'\s*version: nodeVersion\s*\}/);
  });

  it('gives the app a user-assigned identity, with every role assigned before the site exists', () => {
    expect(code(main)).toMatch(/^resource identity 'Microsoft\.ManagedIdentity\/userAssignedIdentities@[\d-]+' = \{/m);
    expect(code(all)).not.toContain("'SystemAssigned'");
    expect(code(all)).toContain("type: 'UserAssigned'");
    expect(code(main)).toMatch(/module functionApp 'app\/functionApp\.bicep' = \{[\s\S]*?dependsOn: \[\s*roles\s*openAIRoles\s*\]/);
  });

  it('puts every app setting in siteConfig.appSettings, extra ones included, with timeouts below the 230 s front-end limit', () => {
    const site = code(text(join(INFRA, 'app', 'functionApp.bicep')));
    expect(site).toContain('appSettings: map(items(settings), setting => { name: setting.key, value: string(setting.value) })');
    expect(code(main)).toMatch(/proxySettings: union\(\s*\{[\s\S]*?\},\s*extraAppSettings\s*\)/);
    const seconds = (name: string): number => Number(new RegExp(`${name}: '(\\d+)'`).exec(code(main))?.[1]);
    expect(seconds('PROXY_DEADLINE_SECONDS')).toBeLessThan(230);
    expect(seconds('PROXY_ATTEMPT_TIMEOUT_SECONDS')).toBeLessThan(seconds('PROXY_DEADLINE_SECONDS'));
  });

  it('sets the HTTP concurrency per instance from a parameter, by default in proportion to the instance memory, well above Flex Consumption\'s 16', () => {
    expect(code(text(join(INFRA, 'app', 'functionApp.bicep')))).toMatch(/triggers: \{\s*http: \{\s*perInstanceConcurrency: perInstanceConcurrency\s*\}/);
    const perInstance = Number(/param perInstanceConcurrency int = instanceMemoryMB \* (\d+) \/ 2048$/m.exec(main)?.[1]);
    expect(perInstance).toBeGreaterThanOrEqual(64);
    expect(main).toMatch(/param instanceMemoryMB int = 2048\n/);
  });

  it('uses rolling updates by default, so a deployment lets streams in flight finish', () => {
    expect(main).toMatch(/@allowed\(\[\s*'RollingUpdate'\s*'Recreate'\s*\]\)\s*param siteUpdateStrategy string = 'RollingUpdate'/);
    expect(code(all)).toMatch(/siteUpdateStrategy: \{\s*type: siteUpdateStrategy\s*\}/);
  });

  it('names nested deployments per environment, and takes the deployer from deployer()', () => {
    for (const [, name] of code(main).matchAll(/^module \w+ '[^']+' = [^{]*\{\s*name: '([^']+)'/gm)) expect(name).toContain('${token}');
    expect(code(main)).toContain('deployer().objectId');
    expect(all).not.toContain('signed-in-user');
  });

  it('reaches storage by identity only: no shared keys, no connection strings', () => {
    expect(code(all)).toContain('allowSharedKeyAccess: false');
    expect(code(all)).toContain("AzureWebJobsStorage__credential: 'managedidentity'");
    expect(code(all)).toContain("type: 'UserAssignedIdentity'");
    expect(code(all)).not.toMatch(/listKeys\(|AccountKey=|AzureWebJobsStorage:/);
  });

  it('reads App Configuration and sends to Application Insights by identity only', () => {
    expect(code(all)).toContain('disableLocalAuth: true');
    expect(code(all)).toContain('DisableLocalAuth: true');
    expect(code(all)).toContain("APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'");
  });

  it.each([
    ['Cognitive Services OpenAI User', '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'],
    ['App Configuration Data Reader', '516239f1-63e1-4d78-a4de-a74fb236a071'],
    ['Storage Blob Data Owner', 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'],
    ['Monitoring Metrics Publisher', '3913510d-42f4-4e42-8a64-420c390055eb'],
    ['Cognitive Services OpenAI Contributor', 'a001fd3d-188f-4b5d-821b-7da978bf7442'],
  ])('assigns %s (%s) to the app identity', (_role, id) => {
    const file = files.find((f) => code(text(f)).includes(`'${id}'`));
    expect(file).toBeDefined();
    const source = code(text(file!));
    expect(source).toMatch(/resource \w+ 'Microsoft\.Authorization\/roleAssignments@2022-04-01'/);
    expect(source).toContain("subscriptionResourceId('Microsoft.Authorization/roleDefinitions'");
  });

  it('grants the Azure OpenAI role (User, or Contributor for files, batches and fine-tuning) on every account given, in its own resource group', () => {
    expect(main).toMatch(/@allowed\(\[\s*'User'\s*'Contributor'\s*\]\)\s*param openAIRole string = 'User'/);
    expect(code(main)).toMatch(/for \(accountId, index\) in filter\(openAIAccountIds, id => !empty\(id\)\)/);
    expect(code(main)).toContain("scope: resourceGroup(split(accountId, '/')[2], split(accountId, '/')[4])");
  });

  it("shares limits' counts in the app's storage account, with the identity's Storage Table Data Contributor role", () => {
    const roles = code(text(join(INFRA, 'app', 'roles.bicep')));
    expect(roles).toContain("var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'");
    expect(roles).toMatch(/resource tableContributor 'Microsoft\.Authorization\/roleAssignments@2022-04-01' = \{\s*scope: storage/);
    expect(code(main)).toContain('PROXY_USAGE_TABLE_ENDPOINT: storage.outputs.tableEndpoint');
  });

  it("lists the first account's deployments with the role it already grants (both include Microsoft.CognitiveServices/*/read)", () => {
    expect(main).toMatch(/param discoverDeployments bool = true/);
    expect(code(main)).toContain("AZURE_OPENAI_RESOURCE_ID: discoverDeployments && !empty(filter(openAIAccountIds, id => !empty(id))) ? filter(openAIAccountIds, id => !empty(id))[0] : ''");
    const roles = code(text(join(INFRA, 'app', 'openAIRole.bicep')));
    // Cognitive Services OpenAI User and Contributor, the two built-in roles whose Actions include Microsoft.CognitiveServices/*/read.
    expect(roles).toContain("User: '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'");
    expect(roles).toContain("Contributor: 'a001fd3d-188f-4b5d-821b-7da978bf7442'");
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
    const read = new Set<string>([...Object.values(SETTING_NAMES).flat(), 'APPLICATIONINSIGHTS_CONNECTION_STRING', 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING']);

    it('are all settings the code reads (no typo can hide)', () => {
      for (const name of settings) if (!name.startsWith('AzureWebJobsStorage__')) expect(read).toContain(name);
    });

    it('include what this deployment needs', () => {
      for (const name of ['AZURE_OPENAI_ENDPOINT', 'AZURE_OPENAI_AUTH', 'AZURE_OPENAI_RESOURCE_ID', 'PROXY_USAGE_TABLE_ENDPOINT', 'AZURE_APPCONFIG_ENDPOINT', 'AZURE_APPCONFIG_KEY_PREFIX', 'AZURE_APPCONFIG_LABEL', 'AZURE_CLIENT_ID', 'APPLICATIONINSIGHTS_CONNECTION_STRING', 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', 'PROXY_ATTEMPT_TIMEOUT_SECONDS', 'PROXY_DEADLINE_SECONDS', 'AzureWebJobsStorage__accountName', 'AzureWebJobsStorage__credential', 'AzureWebJobsStorage__clientId']) {
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

  it('outputs, for the post-provision step, the store and its key-values under the proxy prefix and label', () => {
    expect(code(main)).toContain("key: '${appConfigKeyPrefix}model-map/${entry.key}', value: string(entry.value), label: appConfigLabel");
    expect(code(main)).toContain("key: '${appConfigKeyPrefix}client-keys/${entry.key}', value: string(entry.value), label: appConfigLabel");
    expect(code(main)).toContain("key: '${appConfigKeyPrefix}${entry.key}', value: string(entry.value), label: appConfigLabel");
    expect(code(main)).toMatch(/^output APP_CONFIGURATION_SEED array = seed$/m);
    expect(code(main)).toMatch(/^output APP_CONFIGURATION_ENDPOINT string = appConfig\.outputs\.endpoint$/m);
  });

  it('outputs the app name and URL and the identity principal id, named as azd keeps them', () => {
    expect(code(main)).toMatch(/^output FUNCTION_APP_URL string = '\$\{functionApp\.outputs\.uri\}\/v1'$/m);
    expect(code(main)).toMatch(/^output FUNCTION_APP_NAME string = functionApp\.outputs\.name$/m);
    expect(code(main)).toMatch(/^output IDENTITY_PRINCIPAL_ID string = identity\.properties\.principalId$/m);
  });

  it('has parameters that main.bicep declares, with every required one given', () => {
    const file = JSON.parse(text(join(INFRA, 'main.parameters.json'))) as { parameters: Record<string, unknown> };
    const declaredParams = params(main);
    for (const name of Object.keys(file.parameters)) expect(declaredParams.map((p) => p.name)).toContain(name);
    for (const p of declaredParams.filter((d) => !d.hasDefault)) expect(Object.keys(file.parameters)).toContain(p.name);
  });
});

describe('the rest of the deployment', () => {
  it('azure.yaml deploys the bundled package as it is, and seeds the store after provisioning', () => {
    const yaml = text(join(ROOT, 'azure.yaml'));
    expect(yaml).toMatch(/services:\s+api:\s+project: \.\s+language: ts\s+host: function/);
    expect(yaml).toMatch(/\n {4}dist: dist\/package\n/);
    // azd refuses remoteBuild: false when a .funcignore at the project excludes node_modules; there is none.
    expect(yaml).toMatch(/\n {4}remoteBuild: false\n/);
    expect(existsSync(join(ROOT, '.funcignore'))).toBe(false);
    expect(yaml).toMatch(/infra:\s+provider: bicep\s+path: infra/);
    expect(yaml.match(/run: node scripts\/seedAppConfiguration\.mjs/g)).toHaveLength(2);
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
