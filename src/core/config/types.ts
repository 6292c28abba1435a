/** The proxy's configuration as the core uses it: one immutable snapshot, its parts, and its defaults. */
import { type BackendAuth, ModelMap } from './modelMap';
import type { KeyLimits, ModelPrice } from '../limits/keyLimits';

export const DEFAULT_API_VERSION = '2024-10-21';
/** The dated preview used by the route families that no GA api-version has (responses, assistants, speech...). */
export const DEFAULT_PREVIEW_API_VERSION = '2025-04-01-preview';
export const DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024;
export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com';
export const DEFAULT_APPCONFIG_KEY_PREFIX = 'openai-proxy:';
export const DEFAULT_APPCONFIG_REFRESH_SECONDS = 30;
export const DEFAULT_APPCONFIG_STARTUP_TIMEOUT_SECONDS = 15;
/** Resource Manager allows a principal some 250 reads a burst and 25 a second per subscription: once a minute per instance is far below. */
export const DEFAULT_DISCOVERY_REFRESH_SECONDS = 60;

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
  /**
   * A backend's circuit opens when, over the last 10 s, at least this many of its attempts failed (5xx,
   * connection errors, timeouts)...
   */
  circuitFailures: number;
  /** ...and they were at least this share of its attempts (0 to 1)... */
  circuitFailureRate: number;
  /** ...for this long; then one probe at a time. */
  circuitOpenMs: number;
}

/** One of the proxy's own client keys, kept only as a SHA-256 digest; its name is what logs show. */
/**
 * The route families whose objects are shared by every key that can reach them (Azure keeps them per resource, not
 * per caller): a key limited to models reaches one only with its grant.
 */
export const GRANTS = ['files', 'batches', 'fine-tuning', 'assistants', 'responses'] as const;
export type Grant = (typeof GRANTS)[number];

export interface ClientKey {
  name: string;
  digest: Buffer;
  /** When set, the key may only use these models, and the stateful families of `grants` only. */
  models?: readonly string[];
  grants?: readonly Grant[];
  /** What the key may spend (core/limits). */
  limits?: KeyLimits;
  /** With a usage store, the key sees every key's objects (files, assistants...), not only its own. */
  allObjects?: boolean;
}

/** What an app role (or group) of a Microsoft Entra caller's token may do: a client key's fields. */
export interface EntraGrant {
  models?: readonly string[];
  grants?: readonly Grant[];
  limits?: KeyLimits;
  allObjects?: boolean;
}

/** Callers signed in with Microsoft Entra ID: whose tokens are accepted, and what each role may do. */
export interface EntraSettings {
  /** The tenants whose tokens are accepted (their ids). */
  tenants: readonly string[];
  /** The proxy's app as tokens name it in `aud`: its App ID URI (v1 tokens) and its client id (v2). */
  audiences: readonly string[];
  /** Where tenants publish their OpenID configuration: https://login.microsoftonline.com, or a sovereign cloud's. */
  authority: string;
  /** App roles or group ids, in order (a token's first match wins); `*` for a token with none of them. */
  roles: ReadonlyArray<readonly [role: string, grant: EntraGrant]>;
}

/** Where counts and usage are shared across instances: Azure Table Storage, or (neither set) this process's memory. */
export interface UsageStoreSettings {
  /** `https://<account>.table.core.windows.net`, reached with the app's identity. */
  tableEndpoint?: string;
  /** Or a storage connection string (Azurite's, or with an account key): a secret, never logged. */
  connectionString?: string;
  /** How often each instance exchanges its counts with the store. */
  syncMs: number;
}

/** Where the store is and what to read from it; the connection string is a secret and never logged. */
export interface AppConfigurationSettings {
  endpoint?: string;
  connectionString?: string;
  keyPrefix: string;
  label?: string;
  refreshSeconds: number;
  startupTimeoutSeconds: number;
  /** Hosts (`host[:port]`) the store's backends may name besides Azure OpenAI's: PROXY_BACKEND_HOSTS. */
  allowedBackendHosts: readonly string[];
}

/** Where the account's deployments are listed (AZURE_OPENAI_RESOURCE_ID); app settings only, never the store. */
export interface DiscoverySettings {
  /** `/subscriptions/.../resourceGroups/.../providers/Microsoft.CognitiveServices/accounts/<name>`. */
  resourceId: string;
  /** Resource Manager of the endpoint's cloud, or AZURE_RESOURCE_MANAGER_ENDPOINT; no trailing slash. */
  resourceManagerEndpoint: string;
  refreshSeconds: number;
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
    /** List the account's deployments from Resource Manager, to route and list models by them. */
    discovery?: DiscoverySettings;
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
  /**
   * Fix the parameters a reasoning deployment refuses (`max_tokens` to `max_completion_tokens`, sampling parameters
   * dropped) and send again, and before the first call where the model is known to reason.
   */
  translateParameters: boolean;
  maxBodyBytes: number;
  /** What the proxy made of a setting given in another form than expected, to say once at start (see assemble). */
  notices: readonly string[];
  /** `*`, or the origins allowed (a request's own is answered when it is one of them). */
  corsAllowOrigin: '*' | readonly string[];
  appConfiguration?: AppConfigurationSettings;
  /** The limits of PROXY_API_KEYS' keys and of anonymous callers (PROXY_KEY_LIMITS). */
  defaultKeyLimits?: KeyLimits;
  /** Callers with Microsoft Entra tokens, beside client keys (PROXY_ENTRA_*). */
  entra?: EntraSettings;
  /** Each model's price per million tokens (PROXY_PRICES, then App Configuration's `prices/{model}`). */
  prices: ReadonlyMap<string, ModelPrice>;
  usage: UsageStoreSettings;
}

export type Environment = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid proxy configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}
