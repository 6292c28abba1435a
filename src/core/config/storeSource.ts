/**
 * Configuration from a key-value store (Azure App Configuration), refreshed without a restart.
 *
 * The reader (src/adapters/azure/appConfiguration.ts, or `MemoryKeyValues` here) reads every key under the prefix
 * and label, and tells cheaply whether anything changed; each interval the source asks, and a change anywhere is
 * read within the interval. Each value is checked on its own: a bad one is refused with a warning
 * that names its key, and its last good value stays. A refresh that fails keeps the whole last good
 * configuration and logs one warning until the store answers again.
 */
import {
  assembleConfig,
  ConfigError,
  isStoreSettingKey,
  parseClientKey,
  parseModelTarget,
  parsePrice,
  parseStoreSetting,
  STORE_SETTING_KEYS,
  StoreValueError,
  type AppConfigurationSettings,
  type ClientKey,
  type Environment,
  type ProxyConfig,
  type StoreValues,
} from './config';
import type { ConfigSource } from './configSource';
import { isAllowedStoreEndpoint, type ModelTarget } from './modelMap';
import type { Logger } from '../logger';
import type { ModelPrice } from '../limits/keyLimits';

/** The store's values under the prefix, by key without it; JSON values (content type application/json) parsed. */
export type StoreSnapshot = ReadonlyMap<string, unknown>;

/** What the source needs of a store. */
export interface KeyValueReader {
  /** Every key under the prefix (and label). */
  read(): Promise<StoreSnapshot>;
  /** Whether anything changed since the last read; cheap (no values cross the wire when nothing did). */
  changed(): Promise<boolean>;
}

/** The in-memory twin of a store: values set and deleted by hand, a change seen by the next `changed()`. */
export class MemoryKeyValues implements KeyValueReader {
  readonly #values = new Map<string, unknown>();
  #version = 0;
  #readVersion = -1;

  set(key: string, value: unknown): void {
    this.#values.set(key, value);
    this.#version++;
  }

  delete(key: string): void {
    this.#values.delete(key);
    this.#version++;
  }

  async read(): Promise<StoreSnapshot> {
    this.#readVersion = this.#version;
    return new Map(this.#values);
  }

  async changed(): Promise<boolean> {
    return this.#readVersion !== this.#version;
  }
}

async function readWithRetries(reader: KeyValueReader, timeoutSeconds: number): Promise<StoreSnapshot> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let delay = 250;
  for (;;) {
    try {
      return await reader.read();
    } catch (error) {
      if (Date.now() + delay >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 4000);
    }
  }
}

export interface StoreConfigSourceOptions {
  logger: Logger;
  /** Where the key-values come from: Azure App Configuration (src/adapters/azure/appConfiguration.ts), or memory. */
  reader: KeyValueReader;
}

export class AppConfigurationUnavailableError extends Error {
  override readonly name = 'AppConfigurationUnavailableError';
}

type Accepted =
  | { kind: 'setting'; key: keyof StoreValues['settings']; value: string }
  | { kind: 'model'; model: string; target: ModelTarget }
  | { kind: 'client-key'; clientKey: ClientKey }
  | { kind: 'price'; model: string; price: ModelPrice };

export function storeEndpoint(settings: AppConfigurationSettings): string {
  return settings.endpoint ?? /(?:^|;)\s*Endpoint=([^;]+)/i.exec(settings.connectionString ?? '')?.[1]?.trim() ?? '';
}

function describe(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error && parts.length < 3; e = e.cause) parts.push(e.message.split('\n')[0] ?? '');
  return parts.join(': ') || String(error);
}

/** Refuses an endpoint the store may not send requests (and keys) to. */
function assertAllowedEndpoint(endpoint: string, allowedHosts: readonly string[]): void {
  if (!isAllowedStoreEndpoint(endpoint, allowedHosts)) {
    throw new StoreValueError(
      `endpoint "${endpoint}" is not an Azure OpenAI or AI Services host over https; an app setting, PROXY_BACKEND_HOSTS, must allow any other`,
    );
  }
}

/** What one key under the prefix means, or a StoreValueError saying why its value is refused. */
function interpret(key: string, value: unknown, settings: AppConfigurationSettings): Accepted | undefined {
  if (key.startsWith('model-map/')) {
    const model = key.slice('model-map/'.length);
    if (model === '') throw new StoreValueError('names no model');
    const target = parseModelTarget(value);
    for (const backend of target.backends) if (backend.endpoint !== undefined) assertAllowedEndpoint(backend.endpoint, settings.allowedBackendHosts);
    return { kind: 'model', model, target };
  }
  if (key.startsWith('client-keys/')) {
    const name = key.slice('client-keys/'.length);
    if (!/^[\w.-]{1,64}$/.test(name)) throw new StoreValueError('the name must be 1 to 64 letters, digits, ".", "_" or "-"');
    return { kind: 'client-key', clientKey: parseClientKey(name, value) };
  }
  if (key.startsWith('prices/')) {
    const model = key.slice('prices/'.length);
    if (model === '') throw new StoreValueError('names no model');
    return { kind: 'price', model, price: parsePrice(value) };
  }
  if (isStoreSettingKey(key)) {
    const setting = parseStoreSetting(key, value);
    if (key === 'endpoint') assertAllowedEndpoint(setting, settings.allowedBackendHosts);
    return { kind: 'setting', key: STORE_SETTING_KEYS[key], value: setting };
  }
  return undefined;
}

export class StoreConfigSource implements ConfigSource {
  readonly #env: Environment;
  readonly #settings: AppConfigurationSettings;
  readonly #logger: Logger;
  readonly #reader: KeyValueReader;
  /** The store's last read values; none until the first successful read. */
  #snapshot: StoreSnapshot | undefined;
  #current!: ProxyConfig;
  /** The last good value of each key, by key (after the prefix). */
  #accepted = new Map<string, Accepted>();
  /** The values last seen, so a refusal is logged once per change, not on every refresh. */
  #seen = new Map<string, string>();
  #failing = false;
  #timer: NodeJS.Timeout | undefined;
  #refreshing = false;

  private constructor(env: Environment, settings: AppConfigurationSettings, options: StoreConfigSourceOptions) {
    this.#env = env;
    this.#settings = settings;
    this.#logger = options.logger;
    this.#reader = options.reader;
  }

  /**
   * Loads the store and starts refreshing it. When the store cannot be read at start-up, the proxy starts from
   * the environment if it has a model map of its own (AZURE_OPENAI_MODEL_MAPPER), and keeps trying the store;
   * otherwise start-up fails with AppConfigurationUnavailableError.
   */
  static async start(env: Environment, settings: AppConfigurationSettings, options: StoreConfigSourceOptions): Promise<StoreConfigSource> {
    const where = storeEndpoint(settings);
    const source = new StoreConfigSource(env, settings, options);
    try {
      source.#snapshot = await readWithRetries(source.#reader, settings.startupTimeoutSeconds);
    } catch (error) {
      const reason = describe(error);
      if (env.AZURE_OPENAI_MODEL_MAPPER === undefined || env.AZURE_OPENAI_MODEL_MAPPER === '') {
        throw new AppConfigurationUnavailableError(
          `Could not load settings from Azure App Configuration at ${where}: ${reason}. ` +
            'Check AZURE_APPCONFIG_ENDPOINT (and the app identity\'s App Configuration Data Reader role) or ' +
            'AZURE_APPCONFIG_CONNECTION_STRING; set AZURE_OPENAI_MODEL_MAPPER to start from the environment when the store is unreachable.',
        );
      }
      source.#current = assembleConfig(env);
      options.logger.warn('App Configuration unreachable at start-up: serving the environment settings and model map, and retrying', {
        store: where,
        reason,
        retry_seconds: settings.refreshSeconds,
      });
      source.#failing = true;
      source.#schedule();
      return source;
    }
    // A store whose values cannot make a configuration stops start-up, as a bad app setting does.
    const initial = source.#assemble({ throwOnError: true });
    if (initial === undefined) throw new AppConfigurationUnavailableError(`Could not read settings from Azure App Configuration at ${where}`);
    source.#current = initial;
    source.#schedule();
    return source;
  }

  current(): ProxyConfig {
    return this.#current;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Checks the store's values key by key, keeping the last good value of a refused key, and assembles a
   * configuration from them and the environment. Undefined (after a warning) when they do not make one.
   */
  #assemble(options: { throwOnError: boolean }): ProxyConfig | undefined {
    const snapshot = this.#snapshot;
    if (snapshot === undefined) return undefined;
    const accepted = new Map<string, Accepted>();
    const seen = new Map<string, string>();
    for (const [key, value] of snapshot) {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      seen.set(key, text);
      try {
        const meaning = interpret(key, value, this.#settings);
        if (meaning === undefined) {
          if (this.#seen.get(key) !== text) this.#logger.warn('App Configuration key not understood; ignored', { key: `${this.#settings.keyPrefix}${key}` });
          continue;
        }
        accepted.set(key, meaning);
      } catch (error) {
        if (!(error instanceof StoreValueError)) throw error;
        const previous = this.#accepted.get(key);
        if (previous !== undefined) accepted.set(key, previous);
        if (this.#seen.get(key) !== text) {
          this.#logger.warn('App Configuration value refused; the last good value stays', {
            key: `${this.#settings.keyPrefix}${key}`,
            reason: error.message,
            kept: previous !== undefined,
          });
        }
      }
    }
    this.#seen = seen;
    const settings: StoreValues['settings'] = {};
    const models = new Map<string, ModelTarget>();
    const clientKeys: ClientKey[] = [];
    const prices = new Map<string, ModelPrice>();
    for (const meaning of accepted.values()) {
      if (meaning.kind === 'setting') settings[meaning.key] = meaning.value;
      else if (meaning.kind === 'model') models.set(meaning.model, meaning.target);
      else if (meaning.kind === 'price') prices.set(meaning.model, meaning.price);
      else clientKeys.push(meaning.clientKey);
    }
    try {
      const config = assembleConfig(this.#env, { settings, models, clientKeys, prices });
      this.#accepted = accepted;
      if (config.azure.auth !== 'passthrough' && config.clientKeys.length === 0 && !config.allowAnonymous) {
        this.#logger.warn('No client keys are configured: every caller will be refused', { store: storeEndpoint(this.#settings) });
      }
      this.#logger.info('configuration loaded from App Configuration', {
        models: config.azure.modelMap.size,
        client_keys: config.clientKeys.length,
      });
      return config;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      if (options.throwOnError) throw error;
      this.#logger.warn('App Configuration change refused; the previous configuration stays', { reason: error.problems.join(' | ') });
      return undefined;
    }
  }

  /** Refreshes on a timer, off the request path. */
  #schedule(): void {
    this.#timer = setInterval(() => void this.#refresh(), this.#settings.refreshSeconds * 1000);
    this.#timer.unref();
  }

  async #refresh(): Promise<void> {
    if (this.#refreshing) return;
    this.#refreshing = true;
    try {
      // Started from the environment, the store is read in full once it answers; after that, only on a change.
      if (this.#snapshot === undefined || (await this.#reader.changed())) {
        this.#snapshot = await this.#reader.read();
        this.#current = this.#assemble({ throwOnError: false }) ?? this.#current;
      }
      if (this.#failing) this.#logger.info('App Configuration answers again', { store: storeEndpoint(this.#settings) });
      this.#failing = false;
    } catch (error) {
      if (!this.#failing) {
        this.#logger.warn('App Configuration refresh failed; the last good configuration stays', {
          store: storeEndpoint(this.#settings),
          reason: describe(error),
        });
      }
      this.#failing = true;
    } finally {
      this.#refreshing = false;
    }
  }
}
