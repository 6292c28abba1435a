/**
 * The proxy's settings, read once from the environment and validated at the edge, so the rest of the core works
 * on typed values. Names follow the `ishadows/azure-openai-proxy` and `stulzq/azure-openai-proxy` images, whose
 * old spellings are accepted as aliases (see README, "Configuration").
 */
import { z } from 'zod';
import { ModelMap, ModelMapSyntaxError, parseModelMapper } from './modelMap';

export const DEFAULT_API_VERSION = '2024-10-21';
/** The dated preview used by the route families that no GA api-version has (responses, assistants, speech...). */
export const DEFAULT_PREVIEW_API_VERSION = '2025-04-01-preview';
export const DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024;
export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com';

export type ProxyMode = 'azure' | 'openai';

/**
 * Azure's two URL shapes: the dated API (`/openai/deployments/{deployment}/...?api-version=2024-10-21`) and the
 * v1 API (`/openai/v1/...`, OpenAI's paths, the deployment named in the body's `model`).
 */
export type ApiShape = 'dated' | 'v1';

/** Route families that may need their own api-version (see README, "api-versions"). */
export const API_FAMILIES = ['inference', 'images', 'audio', 'files', 'responses', 'assistants'] as const;
export type ApiFamily = (typeof API_FAMILIES)[number];

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
    /** A key the proxy holds and sends instead of the caller's (`AZURE_OPENAI_TOKEN`). */
    fixedApiKey?: string;
  };
  openai: {
    /** Where `AZURE_OPENAI_PROXY_MODE=openai` forwards every path, without a trailing slash. */
    baseUrl: string;
  };
  /** The proxy's own client keys; required whenever the proxy holds the upstream credential. */
  clientKeys: readonly string[];
  allowAnonymous: boolean;
  /** Drop the empty-choices prompt-filter chunks from streams, for UIs that crash on them. */
  streamCompat: boolean;
  maxBodyBytes: number;
  corsAllowOrigin: string;
}

export type Environment = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid proxy configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Setting names, the first of each list being the preferred one and the rest the old images' aliases. */
export const SETTING_NAMES = {
  mode: ['AZURE_OPENAI_PROXY_MODE'],
  endpoint: ['AZURE_OPENAI_ENDPOINT'],
  apiVersion: ['AZURE_OPENAI_API_VERSION', 'AZURE_OPENAI_APIVERSION', 'AZURE_OPENAI_API_VER'],
  modelMapper: ['AZURE_OPENAI_MODEL_MAPPER'],
  fixedApiKey: ['AZURE_OPENAI_TOKEN', 'AZURE_OPENAI_API_KEY'],
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
} as const satisfies Record<string, readonly string[]>;

type SettingKey = keyof typeof SETTING_NAMES;

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

const DATED_API_VERSION = /^\d{4}-\d{2}-\d{2}(-preview)?$/;

const apiVersion = z
  .string()
  .trim()
  .refine((v) => v === 'v1' || v === 'preview' || DATED_API_VERSION.test(v), 'must look like 2024-10-21 or 2025-04-01-preview, or be v1 or preview');

const positiveInteger = z.coerce.number().int().positive();

const settingSchemas = {
  mode: z.enum(['azure', 'openai']),
  endpoint: httpUrl,
  apiVersion,
  apiVersionImages: apiVersion,
  apiVersionAudio: apiVersion,
  apiVersionFiles: apiVersion,
  apiVersionResponses: apiVersion,
  apiVersionAssistants: apiVersion,
  modelsFromAzure: booleanSetting,
  modelMapper: z.string(),
  fixedApiKey: z.string().trim().min(1),
  clientKeys: z.string().transform((v) =>
    v
      .split(',')
      .map((k) => k.trim())
      .filter((k) => k !== ''),
  ),
  allowAnonymous: booleanSetting,
  streamCompat: booleanSetting,
  maxBodyBytes: positiveInteger,
  openaiBaseUrl: httpUrl,
  corsAllowOrigin: z.string().trim().min(1),
} satisfies Record<SettingKey, z.ZodType>;

type Settings = { [K in SettingKey]?: z.output<(typeof settingSchemas)[K]> };

/** Reads and validates every setting, collecting all problems so one start-up shows them all. */
export function loadConfig(env: Environment): ProxyConfig {
  const problems: string[] = [];
  const settings: Settings = {};
  for (const key of Object.keys(SETTING_NAMES) as SettingKey[]) {
    const found = firstSet(env, SETTING_NAMES[key]);
    if (found === undefined) continue;
    const parsed = settingSchemas[key].safeParse(found.value);
    if (parsed.success) {
      (settings as Record<SettingKey, unknown>)[key] = parsed.data;
    } else {
      const reason = parsed.error.issues.map((i) => i.message).join('; ');
      problems.push(`${found.name}: ${reason}`);
    }
  }

  const mode = settings.mode ?? 'azure';
  let modelMap = new ModelMap();
  if (settings.modelMapper !== undefined) {
    try {
      modelMap = parseModelMapper(settings.modelMapper, firstSet(env, SETTING_NAMES.modelMapper)?.name);
    } catch (error) {
      if (!(error instanceof ModelMapSyntaxError)) throw error;
      problems.push(error.message);
    }
  }

  if (mode === 'azure' && settings.endpoint === undefined && !problems.some((p) => p.startsWith('AZURE_OPENAI_ENDPOINT'))) {
    problems.push('AZURE_OPENAI_ENDPOINT: required, e.g. https://my-resource.openai.azure.com');
  }

  const clientKeys = settings.clientKeys ?? [];
  const allowAnonymous = settings.allowAnonymous ?? false;
  if (settings.fixedApiKey !== undefined && clientKeys.length === 0 && !allowAnonymous) {
    problems.push(
      'AZURE_OPENAI_TOKEN is set, so the proxy holds the Azure key and would be an open relay: set PROXY_API_KEYS ' +
        '(comma-separated keys that callers must send) or, knowingly, PROXY_ALLOW_ANONYMOUS=true',
    );
  }

  const globalVersion = settings.apiVersion ?? DEFAULT_API_VERSION;
  const apiShape: ApiShape = globalVersion === 'v1' || globalVersion === 'preview' ? 'v1' : 'dated';
  const apiVersions = familyApiVersions(settings, globalVersion, apiShape, problems);

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
      ...(settings.fixedApiKey !== undefined && { fixedApiKey: settings.fixedApiKey }),
    },
    openai: { baseUrl: settings.openaiBaseUrl ?? DEFAULT_OPENAI_BASE_URL },
    clientKeys,
    allowAnonymous,
    streamCompat: settings.streamCompat ?? true,
    maxBodyBytes: settings.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    corsAllowOrigin: settings.corsAllowOrigin ?? '*',
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

/**
 * Each family's api-version: its own setting if given; otherwise the global one, except that the families only
 * previews serve get DEFAULT_PREVIEW_API_VERSION while the global one is a GA version. A family's setting must
 * fit the URL shape the global setting chose.
 */
function familyApiVersions(
  settings: Settings,
  globalVersion: string,
  shape: ApiShape,
  problems: string[],
): Record<ApiFamily, string> {
  const versions = {} as Record<ApiFamily, string>;
  for (const family of API_FAMILIES) {
    const key = family === 'inference' ? undefined : FAMILY_SETTINGS[family];
    const own = key === undefined ? undefined : settings[key];
    if (own !== undefined && key !== undefined) {
      const ownShape: ApiShape = own === 'v1' || own === 'preview' ? 'v1' : 'dated';
      if (ownShape !== shape) {
        problems.push(
          `${SETTING_NAMES[key][0]}: "${own}" does not fit AZURE_OPENAI_API_VERSION "${globalVersion}" ` +
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

function firstSet(env: Environment, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') return { name, value };
  }
  return undefined;
}
