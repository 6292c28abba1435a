/**
 * The proxy's settings, validated at the edge so the rest of the core works on typed values. They come from the
 * environment (names follow the `ishadows/azure-openai-proxy` and `stulzq/azure-openai-proxy` images, whose old
 * spellings are accepted as aliases) and, optionally, from Azure App Configuration, whose values win (see README,
 * "Configuration" and "Azure App Configuration").
 *
 * A configuration is assembled as one immutable snapshot: `assembleConfig(env, store)`. A refresh of the store
 * assembles a new snapshot; requests read one snapshot each, so a change never mixes into a request in flight.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { checkBackend, isApiVersion, ModelMap, ModelMapSyntaxError, parseModelMapper, type BackendAuth, type ModelTarget } from './modelMap';

export const DEFAULT_API_VERSION = '2024-10-21';
/** The dated preview used by the route families that no GA api-version has (responses, assistants, speech...). */
export const DEFAULT_PREVIEW_API_VERSION = '2025-04-01-preview';
export const DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024;
export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com';
export const DEFAULT_APPCONFIG_KEY_PREFIX = 'openai-proxy:';
export const DEFAULT_APPCONFIG_REFRESH_SECONDS = 30;
export const DEFAULT_APPCONFIG_STARTUP_TIMEOUT_SECONDS = 15;

export type ProxyMode = 'azure' | 'openai';

/**
 * Azure's two URL shapes: the dated API (`/openai/deployments/{deployment}/...?api-version=2024-10-21`) and the
 * v1 API (`/openai/v1/...`, OpenAI's paths, the deployment named in the body's `model`).
 */
export type ApiShape = 'dated' | 'v1';

/** Route families that may need their own api-version (see README, "api-versions"). */
export const API_FAMILIES = ['inference', 'images', 'audio', 'files', 'responses', 'assistants'] as const;
export type ApiFamily = (typeof API_FAMILIES)[number];

/** Which credential goes upstream: the caller's key, a key the proxy holds, or the app's managed identity. */
export type UpstreamAuth = BackendAuth;

/** How a request is spread over a model's backends and moved on when one fails (see README, "Several deployments"). */
export interface RoutingSettings {
  /** At most this many backends are tried for one request. */
  maxAttempts: number;
  /** No new attempt starts after this long since the request came in. */
  deadlineMs: number;
  /** An attempt that has no response headers after this long is given up (and the next backend tried). */
  attemptTimeoutMs: number;
  /** The longest a 429 puts a backend aside, whatever its retry-after says. */
  cooldownMaxMs: number;
  /** This many failures (5xx, connection errors, timeouts) in a row open a backend's circuit... */
  circuitFailures: number;
  /** ...for this long. */
  circuitOpenMs: number;
}

/** One of the proxy's own client keys, kept only as a SHA-256 digest; its name is what logs show. */
export interface ClientKey {
  name: string;
  digest: Buffer;
  /** When set, the key may only use these models. */
  models?: readonly string[];
}

/** Where the store is and what to read from it; the connection string is a secret and never logged. */
export interface AppConfigurationSettings {
  endpoint?: string;
  connectionString?: string;
  keyPrefix: string;
  label?: string;
  refreshSeconds: number;
  startupTimeoutSeconds: number;
}

export interface ProxyConfig {
  mode: ProxyMode;
  azure: {
    /** The resource endpoint without a trailing slash, e.g. `https://my-resource.openai.azure.com`. */
    endpoint: string;
    apiShape: ApiShape;
    /** The global setting: a dated api-version, or `v1` / `preview` for the v1 API. */
    apiVersion: string;
    /** The api-version of each route family; in the v1 shape `v1` (sent as no api-version) or `preview`. */
    apiVersions: Readonly<Record<ApiFamily, string>>;
    modelMap: ModelMap;
    /** Merge the resource's own model list (`GET /openai/models`) into `GET /v1/models`. */
    modelsFromAzure: boolean;
    auth: UpstreamAuth;
    /** The key the proxy holds and sends instead of the caller's (`AZURE_OPENAI_TOKEN`), with auth `key`. */
    fixedApiKey?: string;
    /** A user-assigned managed identity (`AZURE_CLIENT_ID`); the system-assigned one otherwise. */
    managedIdentityClientId?: string;
    /** The keys of backends with their own `keySetting`, by setting name. */
    backendKeys: ReadonlyMap<string, string>;
  };
  routing: RoutingSettings;
  openai: {
    /** Where `AZURE_OPENAI_PROXY_MODE=openai` forwards every path, without a trailing slash. */
    baseUrl: string;
  };
  /** The proxy's own client keys (environment and store); required whenever the proxy holds the credential. */
  clientKeys: readonly ClientKey[];
  allowAnonymous: boolean;
  /** Drop the empty-choices prompt-filter chunks from streams, for UIs that crash on them. */
  streamCompat: boolean;
  maxBodyBytes: number;
  corsAllowOrigin: string;
  appConfiguration?: AppConfigurationSettings;
}

export type Environment = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid proxy configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Environment names, the first of each list being the preferred one and the rest the old images' aliases. */
export const SETTING_NAMES = {
  mode: ['AZURE_OPENAI_PROXY_MODE'],
  endpoint: ['AZURE_OPENAI_ENDPOINT'],
  apiVersion: ['AZURE_OPENAI_API_VERSION', 'AZURE_OPENAI_APIVERSION', 'AZURE_OPENAI_API_VER'],
  modelMapper: ['AZURE_OPENAI_MODEL_MAPPER'],
  auth: ['AZURE_OPENAI_AUTH'],
  fixedApiKey: ['AZURE_OPENAI_TOKEN', 'AZURE_OPENAI_API_KEY'],
  managedIdentityClientId: ['AZURE_CLIENT_ID'],
  clientKeys: ['PROXY_API_KEYS'],
  allowAnonymous: ['PROXY_ALLOW_ANONYMOUS'],
  apiVersionImages: ['AZURE_OPENAI_API_VERSION_IMAGES'],
  apiVersionAudio: ['AZURE_OPENAI_API_VERSION_AUDIO'],
  apiVersionFiles: ['AZURE_OPENAI_API_VERSION_FILES'],
  apiVersionResponses: ['AZURE_OPENAI_API_VERSION_RESPONSES'],
  apiVersionAssistants: ['AZURE_OPENAI_API_VERSION_ASSISTANTS'],
  modelsFromAzure: ['AZURE_OPENAI_MODELS_FROM_AZURE'],
  streamCompat: ['AZURE_OPENAI_STREAM_COMPAT'],
  maxBodyBytes: ['PROXY_MAX_BODY_BYTES'],
  openaiBaseUrl: ['OPENAI_BASE_URL'],
  corsAllowOrigin: ['PROXY_CORS_ALLOW_ORIGIN'],
  appConfigEndpoint: ['AZURE_APPCONFIG_ENDPOINT'],
  appConfigConnectionString: ['AZURE_APPCONFIG_CONNECTION_STRING'],
  appConfigKeyPrefix: ['AZURE_APPCONFIG_KEY_PREFIX'],
  appConfigLabel: ['AZURE_APPCONFIG_LABEL'],
  appConfigRefreshSeconds: ['AZURE_APPCONFIG_REFRESH_SECONDS'],
  appConfigStartupTimeoutSeconds: ['AZURE_APPCONFIG_STARTUP_TIMEOUT_SECONDS'],
  maxAttempts: ['PROXY_MAX_ATTEMPTS'],
  deadlineSeconds: ['PROXY_DEADLINE_SECONDS'],
  attemptTimeoutSeconds: ['PROXY_ATTEMPT_TIMEOUT_SECONDS'],
  cooldownMaxSeconds: ['PROXY_COOLDOWN_MAX_SECONDS'],
  circuitFailures: ['PROXY_CIRCUIT_FAILURES'],
  circuitOpenSeconds: ['PROXY_CIRCUIT_OPEN_SECONDS'],
} as const satisfies Record<string, readonly string[]>;

type SettingKey = keyof typeof SETTING_NAMES;

/**
 * Plain settings that App Configuration may also hold, by key (after the prefix). Credentials, the mode and the
 * store's own settings are not among them: they decide how the app starts, so they come from app settings only.
 */
export const STORE_SETTING_KEYS = {
  endpoint: 'endpoint',
  'api-version': 'apiVersion',
  'api-version-images': 'apiVersionImages',
  'api-version-audio': 'apiVersionAudio',
  'api-version-files': 'apiVersionFiles',
  'api-version-responses': 'apiVersionResponses',
  'api-version-assistants': 'apiVersionAssistants',
  'models-from-azure': 'modelsFromAzure',
  'stream-compat': 'streamCompat',
  'cors-allow-origin': 'corsAllowOrigin',
} as const satisfies Record<string, SettingKey>;

const booleanSetting = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off']))
  .transform((v) => v === 'true' || v === '1' || v === 'yes' || v === 'on');

const httpUrl = z
  .string()
  .trim()
  .pipe(z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' }))
  .transform((v) => v.replace(/\/+$/, ''));

const apiVersion = z
  .string()
  .trim()
  .refine(isApiVersion, 'must look like 2024-10-21 or 2025-04-01-preview, or be v1 or preview');

const positiveInteger = z.coerce.number().int().positive();

const commaList = z.string().transform((v) =>
  v
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== ''),
);

const settingSchemas = {
  mode: z.enum(['azure', 'openai']),
  endpoint: httpUrl,
  apiVersion,
  modelMapper: z.string(),
  auth: z.enum(['passthrough', 'key', 'managed-identity']),
  fixedApiKey: z.string().trim().min(1),
  managedIdentityClientId: z.string().trim().min(1),
  clientKeys: commaList,
  allowAnonymous: booleanSetting,
  apiVersionImages: apiVersion,
  apiVersionAudio: apiVersion,
  apiVersionFiles: apiVersion,
  apiVersionResponses: apiVersion,
  apiVersionAssistants: apiVersion,
  modelsFromAzure: booleanSetting,
  streamCompat: booleanSetting,
  maxBodyBytes: positiveInteger,
  openaiBaseUrl: httpUrl,
  corsAllowOrigin: z.string().trim().min(1),
  appConfigEndpoint: httpUrl,
  appConfigConnectionString: z
    .string()
    .trim()
    .regex(/(^|;)\s*Endpoint=[^;]+/i, 'must be of the form Endpoint=https://...;Id=...;Secret=...')
    .regex(/(^|;)\s*Secret=[^;]+/i, 'must be of the form Endpoint=https://...;Id=...;Secret=...'),
  appConfigKeyPrefix: z.string(),
  appConfigLabel: z.string().trim().min(1),
  appConfigRefreshSeconds: positiveInteger,
  appConfigStartupTimeoutSeconds: positiveInteger,
  maxAttempts: positiveInteger,
  deadlineSeconds: z.coerce.number().positive(),
  attemptTimeoutSeconds: z.coerce.number().positive(),
  cooldownMaxSeconds: z.coerce.number().positive(),
  circuitFailures: positiveInteger,
  circuitOpenSeconds: z.coerce.number().positive(),
} satisfies Record<SettingKey, z.ZodType>;

type Settings = { [K in SettingKey]?: z.output<(typeof settingSchemas)[K]> };

/** What App Configuration contributes to a snapshot: plain settings, model-map entries and client keys. */
export interface StoreValues {
  settings: Partial<Record<(typeof STORE_SETTING_KEYS)[keyof typeof STORE_SETTING_KEYS], string>>;
  models: ReadonlyMap<string, ModelTarget>;
  clientKeys: readonly ClientKey[];
}

function firstSet(env: Environment, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') return { name, value };
  }
  return undefined;
}

function reason(error: z.ZodError): string {
  return error.issues.map((issue) => issue.message).join('; ');
}

/** Validates one raw value for a setting; the message names where it came from. */
function parseSetting<K extends SettingKey>(key: K, raw: string, where: string, problems: string[]): Settings[K] | undefined {
  const parsed = settingSchemas[key].safeParse(raw);
  if (parsed.success) return parsed.data as Settings[K];
  problems.push(`${where}: ${reason(parsed.error)}`);
  return undefined;
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

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
  const settings: Settings = {};
  const sources: Partial<Record<SettingKey, string>> = {};
  for (const key of Object.keys(SETTING_NAMES) as SettingKey[]) {
    const found = firstSet(env, SETTING_NAMES[key]);
    if (found === undefined) continue;
    (settings as Record<SettingKey, unknown>)[key] = parseSetting(key, found.value, found.name, problems);
    sources[key] = found.name;
  }
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

  const globalVersion = settings.apiVersion ?? DEFAULT_API_VERSION;
  const apiShape = shapeOf(globalVersion);
  const apiVersions = familyApiVersions(settings, nameOf, globalVersion, apiShape, problems);
  const auth = upstreamAuth(settings, problems);
  const backendKeys = checkBackends(env, modelMap, { apiShape, globalVersion, auth, hasFixedKey: settings.fixedApiKey !== undefined, keyPrefix, storeModels: store?.models }, problems);

  const envKeys = (settings.clientKeys ?? []).map((key, index) => ({ name: `env-${index + 1}`, digest: sha256(key) }));
  const clientKeys = [...envKeys, ...(store?.clientKeys ?? [])];
  const allowAnonymous = settings.allowAnonymous ?? false;
  if (auth !== 'passthrough' && clientKeys.length === 0 && appConfiguration === undefined && !allowAnonymous) {
    problems.push(
      `${auth === 'key' ? nameOf('fixedApiKey') + ' is set' : 'AZURE_OPENAI_AUTH is managed-identity'}, so the proxy holds the ` +
        'Azure credential and would be an open relay: set PROXY_API_KEYS (comma-separated keys that callers must send), ' +
        'keep client keys in App Configuration, or, knowingly, set PROXY_ALLOW_ANONYMOUS=true',
    );
  }

  if (problems.length > 0) throw new ConfigError(problems);

  return {
    mode,
    azure: {
      endpoint: settings.endpoint ?? '',
      apiShape,
      apiVersion: globalVersion,
      apiVersions,
      modelMap,
      modelsFromAzure: settings.modelsFromAzure ?? false,
      auth,
      ...(settings.fixedApiKey !== undefined && { fixedApiKey: settings.fixedApiKey }),
      ...(settings.managedIdentityClientId !== undefined && { managedIdentityClientId: settings.managedIdentityClientId }),
      backendKeys,
    },
    routing: {
      maxAttempts: settings.maxAttempts ?? 3,
      deadlineMs: (settings.deadlineSeconds ?? 600) * 1000,
      attemptTimeoutMs: (settings.attemptTimeoutSeconds ?? 300) * 1000,
      cooldownMaxMs: (settings.cooldownMaxSeconds ?? 60) * 1000,
      circuitFailures: settings.circuitFailures ?? 3,
      circuitOpenMs: (settings.circuitOpenSeconds ?? 30) * 1000,
    },
    openai: { baseUrl: settings.openaiBaseUrl ?? DEFAULT_OPENAI_BASE_URL },
    clientKeys,
    allowAnonymous,
    streamCompat: settings.streamCompat ?? true,
    maxBodyBytes: settings.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    corsAllowOrigin: settings.corsAllowOrigin ?? '*',
    ...(appConfiguration !== undefined && { appConfiguration }),
  };
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
      } else if (auth === 'key' && !context.hasFixedKey) {
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

function appConfigurationSettings(settings: Settings, keyPrefix: string): AppConfigurationSettings | undefined {
  if (settings.appConfigEndpoint === undefined && settings.appConfigConnectionString === undefined) return undefined;
  return {
    ...(settings.appConfigEndpoint !== undefined && { endpoint: settings.appConfigEndpoint }),
    ...(settings.appConfigConnectionString !== undefined && { connectionString: settings.appConfigConnectionString }),
    keyPrefix,
    ...(settings.appConfigLabel !== undefined && { label: settings.appConfigLabel }),
    refreshSeconds: settings.appConfigRefreshSeconds ?? DEFAULT_APPCONFIG_REFRESH_SECONDS,
    startupTimeoutSeconds: settings.appConfigStartupTimeoutSeconds ?? DEFAULT_APPCONFIG_STARTUP_TIMEOUT_SECONDS,
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

// App Configuration values ----------------------------------------------------------------------------------

export class StoreValueError extends Error {
  override readonly name = 'StoreValueError';
}

/** A value that may be JSON: parsed already (content type application/json), or JSON-looking text. */
function jsonish(value: unknown): unknown {
  if (typeof value === 'string' && value.trim().startsWith('{')) {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      throw new StoreValueError('is not valid JSON');
    }
  }
  return value;
}

const backendSchema = z.strictObject({
  deployment: z.string(),
  endpoint: z.string().optional(),
  apiVersion: z.string().optional(),
  auth: z.string().optional(),
  keySetting: z.string().optional(),
  priority: z.number().optional(),
  weight: z.number().optional(),
});

const clientKeySchema = z.strictObject({
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'sha256 must be 64 hexadecimal digits'),
  models: z.array(z.string().min(1)).optional(),
});

function backendOf(value: unknown, index?: number): ReturnType<typeof checkBackend> {
  const where = index === undefined ? '' : `backend ${index + 1}: `;
  const result = backendSchema.safeParse(value);
  if (!result.success) throw new StoreValueError(`${where}${reason(result.error)}`);
  try {
    return checkBackend(result.data);
  } catch (error) {
    throw new StoreValueError(`${where}${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * A model-map value: a deployment name; one backend `{"deployment", "endpoint"?, "apiVersion"?, "auth"?,
 * "keySetting"?, "priority"?, "weight"?}`; or a pool, `{"backends": [...]}` or `[...]` of those.
 */
export function parseModelTarget(value: unknown): ModelTarget {
  const parsed = typeof value === 'string' && value.trim().startsWith('[') ? jsonish(`{"backends":${value}}`) : jsonish(value);
  if (typeof parsed === 'string') return { backends: [backendOf({ deployment: parsed.trim() })] };
  const list = Array.isArray(parsed) ? parsed : typeof parsed === 'object' && parsed !== null && 'backends' in parsed ? (parsed).backends : undefined;
  if (list === undefined) return { backends: [backendOf(parsed)] };
  if (!Array.isArray(list) || list.length === 0) throw new StoreValueError('backends must be a list of at least one backend');
  return { backends: list.map((item, index) => backendOf(item, index)) };
}

/** A client-key value: the key's SHA-256 in hex, or `{"sha256", "models"?}`. */
export function parseClientKey(name: string, value: unknown): ClientKey {
  const parsed = jsonish(value);
  const result = clientKeySchema.safeParse(typeof parsed === 'string' ? { sha256: parsed.trim() } : parsed);
  if (!result.success) throw new StoreValueError(reason(result.error));
  return { name, digest: Buffer.from(result.data.sha256, 'hex'), ...(result.data.models !== undefined && { models: result.data.models }) };
}

/** A plain setting's value as text, validated as its environment variable would be. */
export function parseStoreSetting(key: keyof typeof STORE_SETTING_KEYS, value: unknown): string {
  const text = typeof value === 'string' ? value : typeof value === 'boolean' || typeof value === 'number' ? String(value) : undefined;
  if (text === undefined) throw new StoreValueError('must be text');
  const problems: string[] = [];
  parseSetting(STORE_SETTING_KEYS[key], text, key, problems);
  if (problems.length > 0) throw new StoreValueError(problems.join('; ').replace(`${key}: `, ''));
  return text;
}

export function isStoreSettingKey(key: string): key is keyof typeof STORE_SETTING_KEYS {
  return Object.prototype.hasOwnProperty.call(STORE_SETTING_KEYS, key);
}

