/**
 * Which Azure deployments serve an OpenAI model name.
 *
 * Order: an explicit mapping wins; then, when the account's deployments are discovered (AZURE_OPENAI_RESOURCE_ID),
 * a deployment of that name, or else the one deployment that runs that model (`gpt-4o`, or a dated
 * `gpt-4o-2024-08-06`); then the built-in renames of families that Azure spells differently (`gpt-3.5-turbo*` is
 * deployed as `gpt-35-turbo*`); otherwise the model name is the deployment name, unchanged.
 * The old images stripped `.` and `:` from unmapped names, which breaks today's deployments such as `gpt-4.1`.
 *
 * A mapping is a pool of one or more backends: a deployment, optionally on its own resource endpoint with its
 * own api-version and credential, with a priority (lower is tried first) and a weight within its priority.
 */
import type { DiscoveredDeployment } from '../discovery/deployments';

/** Azure deployment names: letters, digits, `-`, `_` and `.`, at most 64 characters. */
const DEPLOYMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Families that OpenAI and Azure name differently; the prefix is replaced, the suffix kept. */
const BUILT_IN_RENAMES: ReadonlyArray<readonly [openAIPrefix: string, azurePrefix: string]> = [
  ['gpt-3.5-turbo', 'gpt-35-turbo'],
];

export type DeploymentSource = 'mapped' | 'discovered' | 'renamed' | 'unchanged';

/** How one backend is called: the caller's key, a held key, or the app's managed identity. */
export type BackendAuth = 'passthrough' | 'key' | 'managed-identity';

export interface Backend {
  deployment: string;
  /** The resource endpoint; the proxy's AZURE_OPENAI_ENDPOINT when unset. */
  endpoint?: string;
  apiVersion?: string;
  /** The credential for this backend; the proxy's AZURE_OPENAI_AUTH when unset. */
  auth?: BackendAuth;
  /** With auth `key`: the app setting that holds this backend's key (the proxy's AZURE_OPENAI_TOKEN when unset). */
  keySetting?: string;
  /** Lower is tried first; backends of a priority share the traffic by weight. */
  priority: number;
  weight: number;
}

/** Where a model goes: at least one backend. */
export interface ModelTarget {
  backends: readonly Backend[];
}

/** Shared by every request for the model (ModelMap keeps it): read, never changed. */
export interface DeploymentResolution extends ModelTarget {
  readonly source: DeploymentSource;
}

export function singleBackend(deployment: string): ModelTarget {
  return { backends: [{ deployment, priority: 1, weight: 1 }] };
}

/** The backend of the first priority that comes first: the one resource-level calls name. */
export function primaryBackend(target: ModelTarget): Backend {
  const [first, ...rest] = target.backends;
  if (first === undefined) throw new Error('a model target without backends');
  return rest.reduce((best, backend) => (backend.priority < best.priority ? backend : best), first);
}

/** The discovered deployments by name, and by the model names they run (`gpt-4o` and `gpt-4o-2024-08-06`). */
interface DiscoveredIndex {
  list: readonly DiscoveredDeployment[];
  byName: ReadonlyMap<string, DiscoveredDeployment>;
  byModel: ReadonlyMap<string, readonly DiscoveredDeployment[]>;
}

function indexDeployments(list: readonly DiscoveredDeployment[]): DiscoveredIndex {
  const byModel = new Map<string, DiscoveredDeployment[]>();
  const add = (model: string, deployment: DiscoveredDeployment): void => {
    const running = byModel.get(model);
    if (running === undefined) byModel.set(model, [deployment]);
    else if (!running.includes(deployment)) running.push(deployment);
  };
  for (const deployment of list) {
    add(deployment.model, deployment);
    if (deployment.modelVersion !== undefined) add(`${deployment.model}-${deployment.modelVersion}`, deployment);
  }
  return { list, byName: new Map(list.map((d) => [d.name, d])), byModel };
}

const NOTHING_DISCOVERED = indexDeployments([]);

/** OpenAI's name of a model as Azure spells it (`gpt-3.5-turbo-0125` is `gpt-35-turbo-0125`), or undefined. */
function azureSpelling(model: string): string | undefined {
  for (const [openAIPrefix, azurePrefix] of BUILT_IN_RENAMES) {
    if (model.startsWith(openAIPrefix)) return azurePrefix + model.slice(openAIPrefix.length);
  }
  return undefined;
}

/**
 * How many models' resolutions a map keeps, and the longest name kept: every request resolves its model, and the
 * answer only changes with the map (a new map is made for each configuration and each discovered list). Bounded
 * both ways, as clients name the models.
 */
export const RESOLVED_KEPT = 1024;
const RESOLVED_NAME_LENGTH = 256;

export class ModelMap {
  readonly #entries: ReadonlyMap<string, ModelTarget>;
  readonly #discovered: DiscoveredIndex;
  readonly #resolved = new Map<string, DeploymentResolution | undefined>();

  constructor(entries: ReadonlyMap<string, ModelTarget> = new Map(), discovered: DiscoveredIndex = NOTHING_DISCOVERED) {
    this.#entries = entries;
    this.#discovered = discovered;
  }

  /** This map with `overrides` laid over it (an override of a model replaces its entry). */
  withOverrides(overrides: ReadonlyMap<string, ModelTarget>): ModelMap {
    return overrides.size === 0 ? this : new ModelMap(new Map([...this.#entries, ...overrides]), this.#discovered);
  }

  /** This map with the account's deployments, as Resource Manager listed them (replacing any earlier list). */
  withDiscovered(deployments: readonly DiscoveredDeployment[]): ModelMap {
    return new ModelMap(this.#entries, indexDeployments(deployments));
  }

  /** The account's deployments, when discovered. */
  get discovered(): readonly DiscoveredDeployment[] {
    return this.#discovered.list;
  }

  /** The discovered deployment of this name, if any. */
  discoveredNamed(name: string): DiscoveredDeployment | undefined {
    return this.#discovered.byName.get(name);
  }

  /** The discovered deployments that run a model, by OpenAI's name of it or Azure's, with or without its version. */
  deploymentsRunning(model: string): readonly DiscoveredDeployment[] {
    const { byModel } = this.#discovered;
    const spelled = azureSpelling(model);
    return byModel.get(model) ?? (spelled === undefined ? undefined : byModel.get(spelled)) ?? [];
  }

  /** The explicitly configured models, in configuration order. */
  get models(): readonly string[] {
    return [...this.#entries.keys()];
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Every configured target, for checks that span the map. */
  get targets(): ReadonlyMap<string, ModelTarget> {
    return this.#entries;
  }

  /** The explicit entry for a model, if any. */
  explicit(model: string): ModelTarget | undefined {
    return this.#entries.get(model);
  }

  /**
   * The backends for a model, or undefined when the model is not mapped and its name cannot be a deployment
   * name (so it would never reach a deployment, and must not be put into a URL path).
   */
  resolve(model: string): DeploymentResolution | undefined {
    if (model.length > RESOLVED_NAME_LENGTH) return this.#resolve(model);
    let resolution = this.#resolved.get(model);
    if (resolution === undefined && !this.#resolved.has(model)) {
      if (this.#resolved.size >= RESOLVED_KEPT) this.#resolved.clear();
      resolution = this.#resolve(model);
      this.#resolved.set(model, resolution);
    }
    return resolution;
  }

  #resolve(model: string): DeploymentResolution | undefined {
    const mapped = this.#entries.get(model);
    if (mapped !== undefined) return { ...mapped, source: 'mapped' };
    // Discovered names come from Resource Manager and are deployment names (resourceManager.ts checks them).
    if (this.#discovered.byName.has(model)) return { ...singleBackend(model), source: 'discovered' };
    const running = this.deploymentsRunning(model);
    if (running.length === 1 && running[0] !== undefined) return { ...singleBackend(running[0].name), source: 'discovered' };
    // A client's name becomes part of Azure's URL path: whatever it is renamed to must still be a deployment name
    // (so `gpt-3.5-turbo/../x`, a control character or a 2 MB name never reaches a URL, a header or a log).
    const renamed = azureSpelling(model);
    if (renamed !== undefined) return isDeploymentName(renamed) ? { ...singleBackend(renamed), source: 'renamed' } : undefined;
    return isDeploymentName(model) ? { ...singleBackend(model), source: 'unchanged' } : undefined;
  }
}

export function isDeploymentName(name: string): boolean {
  return DEPLOYMENT_NAME.test(name);
}

export class ModelMapSyntaxError extends Error {
  override readonly name = 'ModelMapSyntaxError';
}

const BACKEND_AUTHS: ReadonlySet<string> = new Set(['passthrough', 'key', 'managed-identity']);
/**
 * The app settings a backend may take its key from: a dedicated family, so that a model map (which App
 * Configuration may hold) cannot have any other setting, such as a connection string, sent as a key.
 */
const KEY_SETTING = /^AZURE_OPENAI_KEY_[A-Z0-9_]+$/;
export const KEY_SETTING_PATTERN = 'AZURE_OPENAI_KEY_<NAME>';

/** Host names Azure OpenAI and AI Services are served from, in Azure's public and sovereign clouds. */
const AZURE_OPENAI_HOST = /^[a-z0-9][a-z0-9-]*\.(openai\.azure\.(com|us|cn)|cognitiveservices\.azure\.(com|us|cn)|services\.ai\.azure\.com)$/i;

/**
 * Whether a backend endpoint that App Configuration names may be called: https on an Azure OpenAI or AI Services
 * host, or a host an app setting allows (PROXY_BACKEND_HOSTS). Anyone who can write the store must not be able to
 * send requests, and the keys that go with them, anywhere else.
 */
export function isAllowedStoreEndpoint(endpoint: string, allowedHosts: readonly string[]): boolean {
  const url = new URL(endpoint);
  if (allowedHosts.some((host) => host.toLowerCase() === url.host.toLowerCase())) return true;
  return url.protocol === 'https:' && AZURE_OPENAI_HOST.test(url.hostname);
}
const API_VERSION = /^(\d{4}-\d{2}-\d{2}(-preview)?|v1|preview)$/;

/** An api-version Azure knows the form of: dated (2024-10-21, 2025-04-01-preview), or `v1` / `preview`. */
export function isApiVersion(version: string): boolean {
  return API_VERSION.test(version);
}

/** A value as text for a message: strings as they are, anything else as JSON. */
function shown(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
}

/** A backend's fields, checked; throws an Error whose message says what is wrong (the caller says where). */
export function checkBackend(fields: {
  deployment: unknown;
  endpoint?: unknown;
  apiVersion?: unknown;
  auth?: unknown;
  keySetting?: unknown;
  priority?: unknown;
  weight?: unknown;
}): Backend {
  const { deployment, endpoint, apiVersion, auth, keySetting } = fields;
  if (typeof deployment !== 'string' || !isDeploymentName(deployment)) {
    throw new Error(`deployment "${shown(deployment)}" is not a valid Azure deployment name (letters, digits, "-", "_" and "." only, at most 64 characters)`);
  }
  const priority = fields.priority === undefined ? 1 : Number(fields.priority);
  const weight = fields.weight === undefined ? 1 : Number(fields.weight);
  if (!Number.isInteger(priority) || priority < 0) throw new Error(`priority must be a whole number from 0, not "${shown(fields.priority)}"`);
  if (!Number.isInteger(weight) || weight < 1 || weight > 1000) throw new Error(`weight must be a whole number from 1 to 1000, not "${shown(fields.weight)}"`);
  const backend: Backend = { deployment, priority, weight };
  if (endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(shown(endpoint));
    } catch {
      throw new Error(`endpoint "${shown(endpoint)}" is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`endpoint "${shown(endpoint)}" is not an http(s) URL`);
    backend.endpoint = url.origin;
  }
  if (apiVersion !== undefined) {
    if (typeof apiVersion !== 'string' || !isApiVersion(apiVersion)) throw new Error(`apiVersion "${shown(apiVersion)}" must look like 2024-10-21, 2025-04-01-preview, v1 or preview`);
    backend.apiVersion = apiVersion;
  }
  if (auth !== undefined) {
    if (typeof auth !== 'string' || !BACKEND_AUTHS.has(auth)) throw new Error(`auth "${shown(auth)}" must be passthrough, key or managed-identity`);
    backend.auth = auth as BackendAuth;
  }
  if (keySetting !== undefined) {
    if (typeof keySetting !== 'string' || !KEY_SETTING.test(keySetting)) {
      throw new Error(`keySetting "${shown(keySetting)}" must name an app setting of the form ${KEY_SETTING_PATTERN}`);
    }
    backend.keySetting = keySetting;
  }
  return backend;
}

const COMPACT_PARAMETERS: Readonly<Record<string, string>> = {
  priority: 'priority',
  weight: 'weight',
  'api-version': 'apiVersion',
  auth: 'auth',
  'key-setting': 'keySetting',
};

/**
 * One backend of the compact form: `deployment` or `https://resource.openai.azure.com/deployment`, either with
 * `?priority=N&weight=W&api-version=V&auth=A&key-setting=NAME`.
 */
function parseCompactBackend(text: string): Backend {
  const query = text.indexOf('?');
  const target = query < 0 ? text : text.slice(0, query);
  const fields: Record<string, unknown> = {};
  for (const [name, value] of new URLSearchParams(query < 0 ? '' : text.slice(query + 1))) {
    const field = COMPACT_PARAMETERS[name];
    if (field === undefined) throw new Error(`"${name}" is not a backend parameter (priority, weight, api-version, auth, key-setting)`);
    fields[field] = value;
  }
  if (target.includes('://')) {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw new Error(`"${target}" is not a URL`);
    }
    return checkBackend({ ...fields, endpoint: url.origin, deployment: decodeURIComponent(url.pathname.replace(/^\/+|\/+$/g, '')) });
  }
  return checkBackend({ ...fields, deployment: target });
}

/**
 * Parses the `AZURE_OPENAI_MODEL_MAPPER` form `model=deployment,model=deployment` (blanks around names and
 * empty entries are ignored), where a deployment may be a pool: backends joined by `|` in the compact form (see
 * README). Throws a ModelMapSyntaxError that names the bad entry.
 */
export function parseModelMapper(text: string, settingName = 'AZURE_OPENAI_MODEL_MAPPER'): ModelMap {
  const entries = new Map<string, ModelTarget>();
  const parts = text.split(',');
  parts.forEach((raw, index) => {
    const entry = raw.trim();
    if (entry === '') return;
    const where = `${settingName}: entry ${index + 1} "${entry}"`;
    const eq = entry.indexOf('=');
    if (eq < 0 || (entry.indexOf('=', eq + 1) >= 0 && !entry.slice(eq + 1).includes('?'))) {
      throw new ModelMapSyntaxError(`${where} is not of the form model=deployment`);
    }
    const model = entry.slice(0, eq).trim();
    const value = entry.slice(eq + 1).trim();
    if (model === '' || /\s/.test(model)) {
      throw new ModelMapSyntaxError(`${where} has an empty model name or one with blanks in it`);
    }
    let target: ModelTarget;
    try {
      target = { backends: value.split('|').map((backend) => parseCompactBackend(backend.trim())) };
    } catch (error) {
      throw new ModelMapSyntaxError(`${where}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const earlier = entries.get(model);
    if (earlier !== undefined && JSON.stringify(earlier) !== JSON.stringify(target)) {
      throw new ModelMapSyntaxError(`${where} maps "${model}" again, differently`);
    }
    entries.set(model, target);
  });
  return new ModelMap(entries);
}
