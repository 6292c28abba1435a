/**
 * A configuration is assembled as one immutable snapshot: `assembleConfig(env, store)`, from the environment and,
 * optionally, Azure App Configuration, whose values win (see README, "Configuration" and "Azure App
 * Configuration"). A refresh of the store assembles a new snapshot; requests read one snapshot each, so a change
 * never mixes into a request in flight. Every problem is reported at once, each naming its setting.
 */
import { API_FAMILIES, type ApiFamily, type ApiShape, type AppConfigurationSettings, ConfigError, DEFAULT_API_VERSION, DEFAULT_APPCONFIG_KEY_PREFIX, DEFAULT_APPCONFIG_REFRESH_SECONDS, DEFAULT_APPCONFIG_STARTUP_TIMEOUT_SECONDS, DEFAULT_DISCOVERY_REFRESH_SECONDS, type DiscoverySettings, type EntraGrant, type EntraSettings, DEFAULT_MAX_BODY_BYTES, type UsageStoreSettings, DEFAULT_OPENAI_BASE_URL, DEFAULT_PREVIEW_API_VERSION, type Environment, type ProxyConfig, type UpstreamAuth } from './types';
import { firstSet, parseSetting, SETTING_NAMES, type SettingKey, type Settings, sha256, STORE_SETTING_KEYS, type StoreValues } from './settings';
import { ModelMap, ModelMapSyntaxError, type ModelTarget, parseModelMapper } from './modelMap';
import { apiVersionStatus } from '../azure/apiVersions';
import { cloudOf } from '../azure/clouds';

export interface AssembleOptions {
  /** The store (if one is configured) has not been read yet and may supply the endpoint: do not require it. */
  endpointMayComeFromStore?: boolean;
}

/**
 * Assembles and validates a configuration snapshot from the environment and, when given, App Configuration's
 * values (which win). Throws a ConfigError listing every problem, each naming its setting.
 */
export function assembleConfig(env: Environment, store?: StoreValues, options: AssembleOptions = {}): ProxyConfig {
  const problems: string[] = [];
  const { settings, sources } = readSettings(env, Object.keys(SETTING_NAMES) as SettingKey[], problems);
  const keyPrefix = settings.appConfigKeyPrefix ?? DEFAULT_APPCONFIG_KEY_PREFIX;
  for (const [storeKey, key] of Object.entries(STORE_SETTING_KEYS)) {
    const raw = store?.settings[key];
    if (raw === undefined) continue;
    (settings as Record<SettingKey, unknown>)[key] = parseSetting(key, raw, `App Configuration ${keyPrefix}${storeKey}`, problems);
    sources[key] = `App Configuration ${keyPrefix}${storeKey}`;
  }
  const nameOf = (key: SettingKey): string => sources[key] ?? SETTING_NAMES[key][0];

  const mode = settings.mode ?? 'azure';
  let modelMap = new ModelMap();
  if (settings.modelMapper !== undefined) {
    try {
      modelMap = parseModelMapper(settings.modelMapper, nameOf('modelMapper'));
    } catch (error) {
      if (!(error instanceof ModelMapSyntaxError)) throw error;
      problems.push(error.message);
    }
  }
  modelMap = modelMap.withOverrides(store?.models ?? new Map());

  const appConfiguration = appConfigurationSettings(settings, keyPrefix);
  const endpointFromStore = options.endpointMayComeFromStore === true && appConfiguration !== undefined;
  if (mode === 'azure' && settings.endpoint === undefined && !endpointFromStore && !problems.some((p) => p.startsWith(nameOf('endpoint')))) {
    problems.push(
      `AZURE_OPENAI_ENDPOINT: required, e.g. https://my-resource.openai.azure.com` +
        (appConfiguration === undefined ? '' : ` (or the App Configuration key ${keyPrefix}endpoint)`),
    );
  }

  // The portal's "Target URI" (`https://x.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=…`)
  // is the most common thing pasted here: its origin is the endpoint, and the proxy says it took only that.
  const notices: string[] = [];
  let endpoint = settings.endpoint;
  if (endpoint !== undefined) {
    const url = new URL(endpoint);
    if (url.pathname !== '/' || url.search !== '') {
      notices.push(`${nameOf('endpoint')}: using ${url.origin}, the origin of "${endpoint}" (the resource endpoint is the origin only; the proxy adds the paths)`);
      endpoint = url.origin;
    }
  }

  if (mode === 'azure' && modelMap.size === 0 && settings.modelsFromAzure !== true && settings.resourceId === undefined) {
    notices.push(
      'No model map: GET /v1/models lists no model, so a chat UI offers none to pick (any deployment name still works as a model). ' +
        `Set AZURE_OPENAI_RESOURCE_ID to list the resource's deployments, ${nameOf('modelMapper')} (model=deployment,...), ` +
        'model-map/ keys in App Configuration, or AZURE_OPENAI_MODELS_FROM_AZURE=true',
    );
  }
  const discovery = discoverySettings(settings, endpoint);

  const globalVersion = settings.apiVersion ?? DEFAULT_API_VERSION;
  const apiShape = shapeOf(globalVersion);
  const apiVersions = familyApiVersions(settings, nameOf, globalVersion, apiShape, problems);
  checkApiVersions(settings, nameOf, problems, notices);
  const auth = upstreamAuth(settings, problems);
  const backendKeys = checkBackends(env, modelMap, { apiShape, globalVersion, auth, hasFixedKey: settings.fixedApiKey !== undefined, keyPrefix, storeModels: store?.models }, problems);

  const defaultKeyLimits = settings.keyLimits;
  const envKeys = (settings.clientKeys ?? []).map((key, index) => ({ name: `env-${index + 1}`, digest: sha256(key), ...(defaultKeyLimits !== undefined && { limits: defaultKeyLimits }) }));
  const clientKeys = [...envKeys, ...(store?.clientKeys ?? [])];
  const allowAnonymous = settings.allowAnonymous ?? false;
  if (auth !== 'passthrough' && clientKeys.length === 0 && appConfiguration === undefined && !allowAnonymous && settings.entraTenants === undefined) {
    problems.push(
      `AZURE_OPENAI_AUTH is ${auth}${auth === 'key' && settings.auth === undefined ? ` (as ${nameOf('fixedApiKey')} is set)` : ''}, so the proxy holds the ` +
        'Azure credential and would be an open relay: set PROXY_API_KEYS (comma-separated keys that callers must send), ' +
        'keep client keys in App Configuration, accept Microsoft Entra callers (PROXY_ENTRA_TENANT_IDS), or, knowingly, set PROXY_ALLOW_ANONYMOUS=true',
    );
  }

  const usage = usageStoreOf(settings, problems);
  const entra = entraSettingsOf(settings, auth, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    mode,
    azure: {
      endpoint: endpoint ?? '',
      apiShape,
      apiVersion: globalVersion,
      apiVersions,
      modelMap,
      modelsFromAzure: settings.modelsFromAzure ?? false,
      auth,
      ...(settings.fixedApiKey !== undefined && { fixedApiKey: settings.fixedApiKey }),
      ...(settings.managedIdentityClientId !== undefined && { managedIdentityClientId: settings.managedIdentityClientId }),
      backendKeys,
      ...(mode === 'azure' && discovery !== undefined && { discovery }),
    },
    routing: {
      maxAttempts: settings.maxAttempts ?? 3,
      deadlineMs: (settings.deadlineSeconds ?? 600) * 1000,
      attemptTimeoutMs: (settings.attemptTimeoutSeconds ?? 300) * 1000,
      cooldownMaxMs: (settings.cooldownMaxSeconds ?? 60) * 1000,
      circuitFailures: settings.circuitFailures ?? 5,
      circuitFailureRate: (settings.circuitFailureRate ?? 50) / 100,
      circuitOpenMs: (settings.circuitOpenSeconds ?? 30) * 1000,
    },
    openai: { baseUrl: settings.openaiBaseUrl ?? DEFAULT_OPENAI_BASE_URL },
    clientKeys,
    notices,
    allowAnonymous,
    streamCompat: settings.streamCompat ?? true,
    translateParameters: settings.translateParameters ?? true,
    maxBodyBytes: settings.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    corsAllowOrigin: settings.corsAllowOrigin ?? '*',
    ...(appConfiguration !== undefined && { appConfiguration }),
    ...(defaultKeyLimits !== undefined && { defaultKeyLimits }),
    ...(entra !== undefined && { entra }),
    prices: new Map([...(settings.prices ?? []), ...(store?.prices ?? [])]),
    usage,
  };
}

/** The environment's values of some settings, each validated (its problem, if any, added to `problems`). */
function readSettings(env: Environment, keys: readonly SettingKey[], problems: string[]): { settings: Settings; sources: Partial<Record<SettingKey, string>> } {
  const settings: Settings = {};
  const sources: Partial<Record<SettingKey, string>> = {};
  for (const key of keys) {
    const found = firstSet(env, SETTING_NAMES[key]);
    if (found === undefined) continue;
    (settings as Record<SettingKey, unknown>)[key] = parseSetting(key, found.value, found.name, problems);
    sources[key] = found.name;
  }
  return { settings, sources };
}

function usageStoreOf(settings: Settings, problems: string[]): UsageStoreSettings {
  if (settings.usageTableEndpoint !== undefined && settings.usageTableConnectionString !== undefined) {
    problems.push('PROXY_USAGE_TABLE_ENDPOINT and PROXY_USAGE_TABLE_CONNECTION_STRING: set one (the endpoint is reached with the app\'s identity)');
  }
  return {
    ...(settings.usageTableEndpoint !== undefined && { tableEndpoint: settings.usageTableEndpoint }),
    ...(settings.usageTableConnectionString !== undefined && { connectionString: settings.usageTableConnectionString }),
    syncMs: (settings.usageSyncSeconds ?? 1) * 1000,
  };
}

/**
 * The usage store the app settings name, and the identity to reach it with, validated as at start-up, for a
 * command that needs nothing else (`npm run usage`). Throws a ConfigError as assembleConfig does.
 */
export function usageStoreSettings(env: Environment): { usage: UsageStoreSettings; managedIdentityClientId?: string } {
  const problems: string[] = [];
  const { settings } = readSettings(env, ['usageTableEndpoint', 'usageTableConnectionString', 'usageSyncSeconds', 'managedIdentityClientId'], problems);
  const usage = usageStoreOf(settings, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return { usage, ...(settings.managedIdentityClientId !== undefined && { managedIdentityClientId: settings.managedIdentityClientId }) };
}

/** A snapshot from the environment alone. */
export function loadConfig(env: Environment): ProxyConfig {
  return assembleConfig(env);
}

/**
 * Checks the app settings at start-up, before any store is read (only the endpoint may be left to the store),
 * and says where the store is, if there is one. Throws a ConfigError as assembleConfig does.
 */
export function checkEnvironment(env: Environment): AppConfigurationSettings | undefined {
  return assembleConfig(env, undefined, { endpointMayComeFromStore: true }).appConfiguration;
}

/**
 * Checks what spans a model's backends and the rest of the configuration: their api-versions fit the URL shape,
 * their credentials can be had, and a held credential is never given to callers the proxy does not check.
 * Returns the backends' own keys, read from the app settings they name.
 */
function checkBackends(
  env: Environment,
  modelMap: ModelMap,
  context: { apiShape: ApiShape; globalVersion: string; auth: UpstreamAuth; hasFixedKey: boolean; keyPrefix: string; storeModels: ReadonlyMap<string, ModelTarget> | undefined },
  problems: string[],
): Map<string, string> {
  const keys = new Map<string, string>();
  for (const [model, target] of modelMap.targets) {
    const where = context.storeModels?.has(model) === true ? `App Configuration ${context.keyPrefix}model-map/${model}` : `AZURE_OPENAI_MODEL_MAPPER: model "${model}"`;
    for (const backend of target.backends) {
      const named = `${where}: backend ${backend.deployment}`;
      if (backend.apiVersion !== undefined && shapeOf(backend.apiVersion) !== context.apiShape) {
        problems.push(`${named}: apiVersion "${backend.apiVersion}" does not fit AZURE_OPENAI_API_VERSION "${context.globalVersion}"`);
      }
      const auth = backend.auth ?? context.auth;
      if (auth !== 'passthrough' && context.auth === 'passthrough') {
        problems.push(`${named}: auth "${auth}" holds a credential, so the proxy must check its callers' keys: set AZURE_OPENAI_AUTH to key or managed-identity`);
      }
      if (auth === 'key' && backend.keySetting !== undefined) {
        const key = env[backend.keySetting];
        if (key === undefined || key.trim() === '') problems.push(`${named}: its key setting ${backend.keySetting} is not set`);
        else keys.set(backend.keySetting, key.trim());
      } else if (auth === 'key' && !context.hasFixedKey && backend.auth === 'key') {
        // Only a backend that asks for a key itself: one that takes the proxy's auth has the problem said once,
        // for AZURE_OPENAI_AUTH, not once per model.
        problems.push(`${named}: auth "key" needs a key: set keySetting, or AZURE_OPENAI_TOKEN`);
      }
    }
  }
  return keys;
}

function upstreamAuth(settings: Settings, problems: string[]): UpstreamAuth {
  const auth = settings.auth ?? (settings.fixedApiKey === undefined ? 'passthrough' : 'key');
  if (auth === 'key' && settings.fixedApiKey === undefined) {
    problems.push('AZURE_OPENAI_AUTH: "key" needs the key in AZURE_OPENAI_TOKEN (or AZURE_OPENAI_API_KEY)');
  }
  if (auth !== 'key' && settings.fixedApiKey !== undefined) {
    problems.push(`AZURE_OPENAI_AUTH: "${auth}" does not use AZURE_OPENAI_TOKEN; unset the key or choose "key"`);
  }
  return auth;
}

/**
 * Discovery, when AZURE_OPENAI_RESOURCE_ID is set: Resource Manager is the endpoint's cloud's unless
 * AZURE_RESOURCE_MANAGER_ENDPOINT says otherwise (an air-gapped cloud, or a stand-in).
 */
function discoverySettings(settings: Settings, endpoint: string | undefined): DiscoverySettings | undefined {
  if (settings.resourceId === undefined) return undefined;
  return {
    resourceId: settings.resourceId,
    resourceManagerEndpoint: settings.resourceManagerEndpoint ?? cloudOf(endpoint ?? '').resourceManagerEndpoint,
    refreshSeconds: settings.discoveryRefreshSeconds ?? DEFAULT_DISCOVERY_REFRESH_SECONDS,
  };
}

function appConfigurationSettings(settings: Settings, keyPrefix: string): AppConfigurationSettings | undefined {
  if (settings.appConfigEndpoint === undefined && settings.appConfigConnectionString === undefined) return undefined;
  return {
    ...(settings.appConfigEndpoint !== undefined && { endpoint: settings.appConfigEndpoint }),
    ...(settings.appConfigConnectionString !== undefined && { connectionString: settings.appConfigConnectionString }),
    keyPrefix,
    ...(settings.appConfigLabel !== undefined && { label: settings.appConfigLabel }),
    refreshSeconds: settings.appConfigRefreshSeconds ?? DEFAULT_APPCONFIG_REFRESH_SECONDS,
    startupTimeoutSeconds: settings.appConfigStartupTimeoutSeconds ?? DEFAULT_APPCONFIG_STARTUP_TIMEOUT_SECONDS,
    allowedBackendHosts: settings.backendHosts ?? [],
  };
}

const FAMILY_SETTINGS = {
  images: 'apiVersionImages',
  audio: 'apiVersionAudio',
  files: 'apiVersionFiles',
  responses: 'apiVersionResponses',
  assistants: 'apiVersionAssistants',
} as const satisfies Partial<Record<ApiFamily, SettingKey>>;

/** Families that no GA api-version serves completely, so they default to a preview. */
const PREVIEW_FAMILIES: ReadonlySet<ApiFamily> = new Set(['images', 'audio', 'responses', 'assistants']);

function shapeOf(version: string): ApiShape {
  return version === 'v1' || version === 'preview' ? 'v1' : 'dated';
}

/**
 * Each family's api-version: its own setting if given; otherwise the global one, except that the families only
 * previews serve get DEFAULT_PREVIEW_API_VERSION while the global one is a GA version. A family's setting must
 * fit the URL shape the global setting chose.
 */
/** The api-versions given, against the ones Azure has: a typo stops start-up, a newer one is said once. */
function checkApiVersions(settings: Settings, nameOf: (key: SettingKey) => string, problems: string[], notices: string[]): void {
  for (const key of ['apiVersion', ...Object.values(FAMILY_SETTINGS)] as const) {
    const version = settings[key];
    if (version === undefined) continue;
    const status = apiVersionStatus(version);
    if (status === 'impossible') problems.push(`${nameOf(key)}: "${version}" is not a date; Azure's api-versions look like 2024-10-21 or 2025-04-01-preview`);
    else if (status === 'unknown') {
      problems.push(`${nameOf(key)}: "${version}" is not an api-version of Azure OpenAI (a typo?); for example ${DEFAULT_API_VERSION} or ${DEFAULT_PREVIEW_API_VERSION}`);
    } else if (status === 'newer') notices.push(`${nameOf(key)}: "${version}" is newer than the api-versions this proxy knows; it is passed on as given`);
  }
}

function familyApiVersions(
  settings: Settings,
  nameOf: (key: SettingKey) => string,
  globalVersion: string,
  shape: ApiShape,
  problems: string[],
): Record<ApiFamily, string> {
  const versions = {} as Record<ApiFamily, string>;
  for (const family of API_FAMILIES) {
    const key = family === 'inference' ? undefined : FAMILY_SETTINGS[family];
    const own = key === undefined ? undefined : settings[key];
    if (own !== undefined && key !== undefined) {
      if (shapeOf(own) !== shape) {
        problems.push(
          `${nameOf(key)}: "${own}" does not fit AZURE_OPENAI_API_VERSION "${globalVersion}" ` +
            (shape === 'v1' ? '(with the v1 API use v1 or preview)' : '(v1 and preview are chosen by AZURE_OPENAI_API_VERSION)'),
        );
      }
      versions[family] = own;
    } else if (shape === 'dated' && PREVIEW_FAMILIES.has(family) && !globalVersion.endsWith('-preview')) {
      versions[family] = DEFAULT_PREVIEW_API_VERSION;
    } else {
      versions[family] = globalVersion;
    }
  }
  return versions;
}

/**
 * Callers with Microsoft Entra tokens: the tenants and the audience go together, and only where the proxy holds the
 * Azure credential (in passthrough, a caller's bearer token is its own Azure credential, sent on as it is).
 */
function entraSettingsOf(settings: Settings, auth: string, problems: string[]): EntraSettings | undefined {
  const { entraTenants: tenants, entraAudience: audiences, entraRoles, entraAuthority } = settings;
  if (tenants === undefined && audiences === undefined) {
    if (entraRoles !== undefined || entraAuthority !== undefined) problems.push('PROXY_ENTRA_ROLES and PROXY_ENTRA_AUTHORITY_HOST apply to Entra callers: set PROXY_ENTRA_TENANT_IDS and PROXY_ENTRA_AUDIENCE too');
    return undefined;
  }
  if (tenants === undefined || audiences === undefined) {
    problems.push("Entra callers need both PROXY_ENTRA_TENANT_IDS (the tenants whose tokens are accepted) and PROXY_ENTRA_AUDIENCE (the proxy's App ID URI and/or client id)");
    return undefined;
  }
  if (auth === 'passthrough') {
    problems.push('PROXY_ENTRA_TENANT_IDS is set, but AZURE_OPENAI_AUTH is passthrough: Entra callers need the proxy to hold the Azure credential (AZURE_OPENAI_AUTH=key or managed-identity)');
    return undefined;
  }
  const roles = (entraRoles ?? [['*', {}]]).map(([role, grant]): [string, EntraGrant] => [
    role,
    {
      ...(grant.models !== undefined && { models: grant.models }),
      ...(grant.grants !== undefined && { grants: grant.grants }),
      ...(grant.limits !== undefined && { limits: grant.limits }),
      ...(grant.allObjects === true && { allObjects: true }),
    },
  ]);
  return { tenants: tenants.map((tenant) => tenant.toLowerCase()), audiences, authority: entraAuthority ?? 'https://login.microsoftonline.com', roles };
}
