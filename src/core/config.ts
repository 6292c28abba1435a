/**
 * The proxy's settings, read once from the environment and validated at the edge, so the rest of the core works
 * on typed values. Names follow the `ishadows/azure-openai-proxy` and `stulzq/azure-openai-proxy` images, whose
 * old spellings are accepted as aliases (see README, "Configuration").
 */
import { z } from 'zod';
import { ModelMap, ModelMapSyntaxError, parseModelMapper } from './modelMap';

export const DEFAULT_API_VERSION = '2024-10-21';
export const DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024;
export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com';

export type ProxyMode = 'azure' | 'openai';

export interface ProxyConfig {
  mode: ProxyMode;
  azure: {
    /** The resource endpoint without a trailing slash, e.g. `https://my-resource.openai.azure.com`. */
    endpoint: string;
    apiVersion: string;
    modelMap: ModelMap;
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

const apiVersion = z
  .string()
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}(-preview)?$/, 'must look like 2024-10-21 or 2025-04-01-preview');

const positiveInteger = z.coerce.number().int().positive();

const settingSchemas = {
  mode: z.enum(['azure', 'openai']),
  endpoint: httpUrl,
  apiVersion,
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

  if (problems.length > 0) throw new ConfigError(problems);

  return {
    mode,
    azure: {
      endpoint: settings.endpoint ?? '',
      apiVersion: settings.apiVersion ?? DEFAULT_API_VERSION,
      modelMap,
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

function firstSet(env: Environment, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') return { name, value };
  }
  return undefined;
}
