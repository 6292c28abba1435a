/**
 * The settings the proxy reads, by name (the `ishadows/azure-openai-proxy` and `stulzq/azure-openai-proxy` images'
 * spellings are accepted as aliases), and how each raw value is validated.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { GRANTS, type ClientKey, type Environment } from './types';
import { isApiVersion, type ModelTarget } from './modelMap';
import { keyLimitsSchema, modelPriceSchema, type ModelPrice } from '../limits/keyLimits';

const PRICES_EXAMPLE = '{"gpt-4o": {"input": 2.5, "output": 10}}';

const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ENTRA_ROLES_EXAMPLE = '{"Proxy.Chat": {"models": ["gpt-4o-mini"], "limits": {"tokensPerDay": 200000}}, "Proxy.All": {}}';
const KEY_LIMITS_EXAMPLE = '{"requestsPerMinute": 60, "tokensPerMinute": 100000, "tokensPerDay": 1000000, "models": {"gpt-4o": {"tokensPerDay": 200000}}}';

/** A schema's issues as one line, each with where it is (`models.gpt-4o.tokensPerDay: must be above 0`). */
export function describeIssues(error: z.ZodError): string {
  return [...new Set(error.issues.map((issue) => (issue.path.length === 0 ? issue.message : `${issue.path.join('.')}: ${issue.message}`)))].join('; ');
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
  translateParameters: ['PROXY_TRANSLATE_PARAMETERS'],
  maxBodyBytes: ['PROXY_MAX_BODY_BYTES'],
  openaiBaseUrl: ['OPENAI_BASE_URL'],
  corsAllowOrigin: ['PROXY_CORS_ALLOW_ORIGIN'],
  appConfigEndpoint: ['AZURE_APPCONFIG_ENDPOINT'],
  appConfigConnectionString: ['AZURE_APPCONFIG_CONNECTION_STRING'],
  appConfigKeyPrefix: ['AZURE_APPCONFIG_KEY_PREFIX'],
  appConfigLabel: ['AZURE_APPCONFIG_LABEL'],
  appConfigRefreshSeconds: ['AZURE_APPCONFIG_REFRESH_SECONDS'],
  appConfigStartupTimeoutSeconds: ['AZURE_APPCONFIG_STARTUP_TIMEOUT_SECONDS'],
  backendHosts: ['PROXY_BACKEND_HOSTS'],
  maxAttempts: ['PROXY_MAX_ATTEMPTS'],
  deadlineSeconds: ['PROXY_DEADLINE_SECONDS'],
  attemptTimeoutSeconds: ['PROXY_ATTEMPT_TIMEOUT_SECONDS'],
  cooldownMaxSeconds: ['PROXY_COOLDOWN_MAX_SECONDS'],
  circuitFailures: ['PROXY_CIRCUIT_FAILURES'],
  circuitFailureRate: ['PROXY_CIRCUIT_FAILURE_RATE'],
  circuitOpenSeconds: ['PROXY_CIRCUIT_OPEN_SECONDS'],
  resourceId: ['AZURE_OPENAI_RESOURCE_ID'],
  resourceManagerEndpoint: ['AZURE_RESOURCE_MANAGER_ENDPOINT'],
  discoveryRefreshSeconds: ['AZURE_OPENAI_DISCOVERY_REFRESH_SECONDS'],
  keyLimits: ['PROXY_KEY_LIMITS'],
  entraTenants: ['PROXY_ENTRA_TENANT_IDS'],
  entraAudience: ['PROXY_ENTRA_AUDIENCE'],
  entraRoles: ['PROXY_ENTRA_ROLES'],
  entraAuthority: ['PROXY_ENTRA_AUTHORITY_HOST'],
  prices: ['PROXY_PRICES'],
  usageTableEndpoint: ['PROXY_USAGE_TABLE_ENDPOINT'],
  usageTableConnectionString: ['PROXY_USAGE_TABLE_CONNECTION_STRING'],
  usageSyncSeconds: ['PROXY_USAGE_SYNC_SECONDS'],
} as const satisfies Record<string, readonly string[]>;

export type SettingKey = keyof typeof SETTING_NAMES;

/** An Azure OpenAI (or AI Services) account in Resource Manager. */
export const ACCOUNT_RESOURCE_ID = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.CognitiveServices\/accounts\/[^/]+$/i;
export const ACCOUNT_RESOURCE_ID_FORM = '/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.CognitiveServices/accounts/<name>';

function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

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
  'translate-parameters': 'translateParameters',
  'cors-allow-origin': 'corsAllowOrigin',
} as const satisfies Record<string, SettingKey>;

/**
 * The schema of each setting. Built on first use rather than at import: the configuration is read once per
 * process, and a cold start should not pay for it before then.
 */
function buildSettingSchemas() {
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

  /** A setting holding JSON of a schema: not JSON, or not of the schema, is said with an example. */
  const jsonSetting = <T extends z.ZodType>(schema: T, example: string) =>
    z
      .string()
      .trim()
      .transform((value, ctx): z.output<T> => {
        let json: unknown;
        try {
          json = JSON.parse(value) as unknown;
        } catch {
          ctx.addIssue({ code: 'custom', message: `is not JSON: give an object such as ${example}` });
          return z.NEVER;
        }
        const parsed = schema.safeParse(json);
        if (!parsed.success) {
          ctx.addIssue({ code: 'custom', message: `${describeIssues(parsed.error)} (e.g. ${example})` });
          return z.NEVER;
        }
        return parsed.data;
      });

  const commaList = z.string().transform((v) =>
    v
      .split(',')
      .map((k) => k.trim())
      .filter((k) => k !== ''),
  );

  return {
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
    translateParameters: booleanSetting,
    maxBodyBytes: positiveInteger,
    openaiBaseUrl: httpUrl,
    corsAllowOrigin: z
      .string()
      .trim()
      .min(1)
      .transform((value, ctx) => {
        if (value === '*') return '*' as const;
        const origins: string[] = [];
        for (const item of value.split(',').map((o) => o.trim()).filter((o) => o !== '')) {
          let url: URL | undefined;
          try {
            url = new URL(item);
          } catch {
            url = undefined;
          }
          // An origin is scheme://host[:port]: a trailing slash is forgiven, a path is not (browsers never send one).
          if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname !== '/' || url.search !== '' || url.hash !== '') {
            ctx.addIssue({ code: 'custom', message: `has "${item}", which is not an origin: give * or a comma-separated list of scheme://host[:port], without a path` });
            return z.NEVER;
          }
          origins.push(url.origin);
        }
        return origins;
      }),
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
    backendHosts: commaList,
    maxAttempts: positiveInteger,
    deadlineSeconds: z.coerce.number().positive(),
    attemptTimeoutSeconds: z.coerce.number().positive(),
    cooldownMaxSeconds: z.coerce.number().positive(),
    circuitFailures: positiveInteger,
    circuitFailureRate: z.coerce.number().gt(0, 'must be a percentage above 0').max(100, 'must be a percentage up to 100'),
    circuitOpenSeconds: z.coerce.number().positive(),
    resourceId: z
      .string()
      .trim()
      .transform((v) => v.replace(/\/+$/, ''))
      .refine((v) => ACCOUNT_RESOURCE_ID.test(v), `must be an account's resource id, ${ACCOUNT_RESOURCE_ID_FORM}`),
    // A bearer token for Resource Manager goes there: https only, except to this machine (a stand-in).
    resourceManagerEndpoint: httpUrl.refine(
      (v) => v.startsWith('https://') || isLoopbackUrl(v),
      'must be an https URL (http only on localhost), e.g. https://management.azure.com',
    ),
    discoveryRefreshSeconds: positiveInteger,
    keyLimits: jsonSetting(keyLimitsSchema(), KEY_LIMITS_EXAMPLE),
    entraTenants: commaList.pipe(z.array(z.string().regex(TENANT_ID, 'must be tenant ids (GUIDs), comma-separated')).min(1, 'must name at least one tenant id')),
    entraAudience: commaList.pipe(z.array(z.string().min(1)).min(1, "must name the proxy's app: its App ID URI (api://...) and/or its client id")),
    entraRoles: jsonSetting(
      z.record(
        z.string().min(1),
        z.strictObject({ models: z.array(z.string().min(1)).optional(), grants: z.array(z.enum(GRANTS)).optional(), limits: keyLimitsSchema().optional(), allObjects: z.boolean().optional() }),
      ),
      ENTRA_ROLES_EXAMPLE,
    ).transform((roles) => Object.entries(roles)),
    // Where signing keys are read from: https only, except to this machine (a stand-in).
    entraAuthority: httpUrl.refine((v) => v.startsWith('https://') || isLoopbackUrl(v), 'must be an https URL (http only on localhost), e.g. https://login.microsoftonline.com'),
    prices: jsonSetting(z.record(z.string().min(1), modelPriceSchema()), `${PRICES_EXAMPLE}, per million tokens`).transform((prices) => new Map(Object.entries(prices))),
    usageTableEndpoint: httpUrl,
    usageTableConnectionString: z
      .string()
      .trim()
      .regex(/(^|;)\s*(TableEndpoint|AccountName|UseDevelopmentStorage)=[^;]+/i, 'must be a storage connection string (AccountName=...;AccountKey=... or TableEndpoint=...)'),
    usageSyncSeconds: z.coerce.number().min(0.1, 'must be at least 0.1 seconds').max(60, 'must be at most 60 seconds'),
  } satisfies Record<SettingKey, z.ZodType>;
}

type SettingSchemas = ReturnType<typeof buildSettingSchemas>;
let schemas: SettingSchemas | undefined;
const settingSchemas = (): SettingSchemas => (schemas ??= buildSettingSchemas());

export type Settings = { [K in SettingKey]?: z.output<SettingSchemas[K]> };

/** What App Configuration contributes to a snapshot: plain settings, model-map entries and client keys. */
export interface StoreValues {
  settings: Partial<Record<(typeof STORE_SETTING_KEYS)[keyof typeof STORE_SETTING_KEYS], string>>;
  models: ReadonlyMap<string, ModelTarget>;
  clientKeys: readonly ClientKey[];
  /** `prices/{model}`: a model's price per million tokens. */
  prices?: ReadonlyMap<string, ModelPrice>;
}

export function firstSet(env: Environment, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') return { name, value };
  }
  return undefined;
}

export function reason(error: z.ZodError): string {
  return [...new Set(error.issues.map((issue) => issue.message))].join('; ');
}

/** Settings whose values are secrets: a problem with one never shows it. */
const SECRET_SETTINGS: ReadonlySet<SettingKey> = new Set(['fixedApiKey', 'appConfigConnectionString', 'clientKeys', 'usageTableConnectionString']);

/** What each kind of setting takes, in words, where the schema's own message would be a parser's. */
const EXPECTED: Partial<Record<SettingKey, string>> = {
  mode: 'azure or openai',
  auth: 'passthrough, key or managed-identity',
  allowAnonymous: 'true or false',
  modelsFromAzure: 'true or false',
  streamCompat: 'true or false',
  translateParameters: 'true or false',
  maxBodyBytes: 'a whole number of bytes above 0',
  appConfigRefreshSeconds: 'a whole number of seconds above 0',
  appConfigStartupTimeoutSeconds: 'a whole number of seconds above 0',
  maxAttempts: 'a whole number above 0',
  deadlineSeconds: 'a number of seconds above 0',
  attemptTimeoutSeconds: 'a number of seconds above 0',
  cooldownMaxSeconds: 'a number of seconds above 0',
  circuitFailures: 'a whole number above 0',
  circuitFailureRate: 'a percentage above 0, up to 100',
  circuitOpenSeconds: 'a number of seconds above 0',
  discoveryRefreshSeconds: 'a whole number of seconds above 0',
  usageSyncSeconds: 'a number of seconds from 0.1 to 60',
  fixedApiKey: 'a key, not blank',
  managedIdentityClientId: 'a client id, not blank',
  appConfigLabel: 'a label, not blank',
};

/**
 * Validates one raw value for a setting. The message names where it came from, shows the value (never a secret's),
 * and says what is expected: the schema's own words where they say it (`must look like 2024-10-21`), else ours.
 */
export function parseSetting<K extends SettingKey>(key: K, raw: string, where: string, problems: string[]): Settings[K] | undefined {
  const parsed = settingSchemas()[key].safeParse(raw);
  if (parsed.success) return parsed.data as Settings[K];
  const shown = SECRET_SETTINGS.has(key) ? '(value not shown)' : JSON.stringify(raw.length > 200 ? `${raw.slice(0, 200)}…` : raw);
  const expected = EXPECTED[key];
  problems.push(expected === undefined ? `${where}: ${shown} ${reason(parsed.error)}` : `${where}: ${shown} is not ${expected}`);
  return undefined;
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
