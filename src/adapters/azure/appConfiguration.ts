/**
 * Configuration from Azure App Configuration, refreshed without a restart.
 *
 * Every key under the prefix (and label) is read with `@azure/app-configuration`, and watched through the
 * list's page ETags, as `@azure/app-configuration-provider` does: each interval one conditional request asks
 * whether anything changed (304 if not), and a change anywhere is read within the interval. (The provider
 * itself is not used: it swallows a failed refresh into a console line, so the proxy could neither warn once
 * nor tell when the store answers again.) Each value is checked on its own: a bad one is refused with a warning
 * that names its key, and its last good value stays. A refresh that fails keeps the whole last good
 * configuration and logs one warning until the store answers again.
 */
import type { AppConfigurationClient, ConfigurationSetting } from '@azure/app-configuration';
import type { TokenCredential } from '@azure/identity';
import { loadAppConfiguration, loadIdentity } from './sdks';
import {
  assembleConfig,
  checkEnvironment,
  ConfigError,
  isStoreSettingKey,
  parseClientKey,
  parseModelTarget,
  parseStoreSetting,
  STORE_SETTING_KEYS,
  StoreValueError,
  type AppConfigurationSettings,
  type ClientKey,
  type Environment,
  type ProxyConfig,
  type StoreValues,
} from '../../core/config/config';
import { staticConfigSource, type ConfigSource } from '../../core/config/configSource';
import type { Logger } from '../../core/logger';
import type { ModelTarget } from '../../core/config/modelMap';

/** The store's values under the prefix, by key without it; JSON values (content type application/json) parsed. */
type StoreSnapshot = ReadonlyMap<string, unknown>;

function isJsonContentType(contentType: string | undefined): boolean {
  const mediaType = contentType?.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || (mediaType.startsWith('application/') && mediaType.endsWith('+json'));
}

/** Reads the proxy's keys from the store, and tells cheaply whether they changed since the last read. */
class StoreReader {
  readonly #client: AppConfigurationClient;
  readonly #settings: AppConfigurationSettings;
  #pageEtags: string[] = [];

  constructor(settings: AppConfigurationSettings, credential: TokenCredential | undefined) {
    this.#settings = settings;
    const endpoint = storeEndpoint(settings);
    const options = {
      // Plain http is allowed only on loopback, for tests; the SDK itself refuses tokens over http.
      allowInsecureConnection: LOOPBACK.test(endpoint) && endpoint.startsWith('http:'),
      // A refresh that fails is tried again at the next interval; the SDK's own retries would only delay
      // noticing the outage (start-up has its own retries, readWithRetries).
      retryOptions: { maxRetries: 1, retryDelayInMs: 200, maxRetryDelayInMs: 1000 },
    };
    const { AppConfigurationClient } = loadAppConfiguration();
    this.#client =
      settings.connectionString !== undefined
        ? new AppConfigurationClient(settings.connectionString, options)
        : new AppConfigurationClient(endpoint, credential ?? new (loadIdentity().DefaultAzureCredential)(), options);
  }

  #filters(): { keyFilter: string; labelFilter: string } {
    // A null label is written `\0` in filters.
    return { keyFilter: `${escapeFilter(this.#settings.keyPrefix)}*`, labelFilter: this.#settings.label === undefined ? '\0' : escapeFilter(this.#settings.label) };
  }

  async read(): Promise<StoreSnapshot> {
    const values = new Map<string, unknown>();
    const etags: string[] = [];
    for await (const page of this.#client.listConfigurationSettings(this.#filters()).byPage()) {
      // The SDK leaves a list page's `etag` unset; the header is on the raw response.
      etags.push(page.etag ?? headerOf(page._response.headers, 'etag') ?? '');
      for (const setting of page.items) values.set(setting.key.slice(this.#settings.keyPrefix.length), valueOf(setting));
    }
    this.#pageEtags = etags;
    return values;
  }

  /**
   * One conditional HEAD request a page: a page answered 200 (not 304), or a different number of pages, is a
   * change. No body crosses the wire when nothing changed.
   */
  async changed(): Promise<boolean> {
    let pages = 0;
    for await (const page of this.#client.checkConfigurationSettings({ ...this.#filters(), pageEtags: this.#pageEtags }).byPage()) {
      pages++;
      // The SDK gives this status as the string "200" (but 304 as a number).
      if (Number(page._response.status) === 200) return true;
    }
    return pages !== this.#pageEtags.length;
  }
}

/** A response header, whether the SDK hands the headers over as an HttpHeaders or as a plain record. */
function headerOf(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const get = (headers as { get?: unknown }).get;
  const value: unknown = typeof get === 'function' ? (get as (n: string) => unknown).call(headers, name) : (headers as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

function valueOf(setting: ConfigurationSetting): unknown {
  if (setting.value === undefined || !isJsonContentType(setting.contentType)) return setting.value ?? '';
  try {
    return JSON.parse(setting.value) as unknown;
  } catch {
    return setting.value; // checked, and refused with its key named, like any other bad value
  }
}

/** Filters treat `*`, `,` and `\\` as special; a prefix or label is meant literally. */
function escapeFilter(text: string): string {
  return text.replace(/[\\*,]/g, (c) => `\\${c}`);
}

/** Tries until the start-up time is up, since the store or the identity's role may be a moment late. */
async function readWithRetries(reader: StoreReader, timeoutSeconds: number): Promise<StoreSnapshot> {
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

export interface AppConfigurationSourceOptions {
  logger: Logger;
  /** The credential for AZURE_APPCONFIG_ENDPOINT; by default DefaultAzureCredential (the managed identity). */
  credential?: TokenCredential;
}

export class AppConfigurationUnavailableError extends Error {
  override readonly name = 'AppConfigurationUnavailableError';
}

type Accepted =
  | { kind: 'setting'; key: keyof StoreValues['settings']; value: string }
  | { kind: 'model'; model: string; target: ModelTarget }
  | { kind: 'client-key'; clientKey: ClientKey };

const LOOPBACK = /^https?:\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?(\/|$)/i;

function storeEndpoint(settings: AppConfigurationSettings): string {
  return settings.endpoint ?? /(?:^|;)\s*Endpoint=([^;]+)/i.exec(settings.connectionString ?? '')?.[1]?.trim() ?? '';
}

function describe(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error && parts.length < 3; e = e.cause) parts.push(e.message.split('\n')[0] ?? '');
  return parts.join(': ') || String(error);
}

/** What one key under the prefix means, or a StoreValueError saying why its value is refused. */
function interpret(key: string, value: unknown): Accepted | undefined {
  if (key.startsWith('model-map/')) {
    const model = key.slice('model-map/'.length);
    if (model === '') throw new StoreValueError('names no model');
    return { kind: 'model', model, target: parseModelTarget(value) };
  }
  if (key.startsWith('client-keys/')) {
    const name = key.slice('client-keys/'.length);
    if (!/^[\w.-]{1,64}$/.test(name)) throw new StoreValueError('the name must be 1 to 64 letters, digits, ".", "_" or "-"');
    return { kind: 'client-key', clientKey: parseClientKey(name, value) };
  }
  if (isStoreSettingKey(key)) return { kind: 'setting', key: STORE_SETTING_KEYS[key], value: parseStoreSetting(key, value) };
  return undefined;
}

export class AppConfigurationSource implements ConfigSource {
  readonly #env: Environment;
  readonly #settings: AppConfigurationSettings;
  readonly #logger: Logger;
  readonly #reader: StoreReader;
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

  private constructor(env: Environment, settings: AppConfigurationSettings, options: AppConfigurationSourceOptions) {
    this.#env = env;
    this.#settings = settings;
    this.#logger = options.logger;
    this.#reader = new StoreReader(settings, options.credential);
  }

  /**
   * Loads the store and starts refreshing it. When the store cannot be read at start-up, the proxy starts from
   * the environment if it has a model map of its own (AZURE_OPENAI_MODEL_MAPPER), and keeps trying the store;
   * otherwise start-up fails with AppConfigurationUnavailableError.
   */
  static async start(env: Environment, settings: AppConfigurationSettings, options: AppConfigurationSourceOptions): Promise<AppConfigurationSource> {
    const where = storeEndpoint(settings);
    const source = new AppConfigurationSource(env, settings, options);
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
        const meaning = interpret(key, value);
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
    for (const meaning of accepted.values()) {
      if (meaning.kind === 'setting') settings[meaning.key] = meaning.value;
      else if (meaning.kind === 'model') models.set(meaning.model, meaning.target);
      else clientKeys.push(meaning.clientKey);
    }
    try {
      const config = assembleConfig(this.#env, { settings, models, clientKeys });
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

/**
 * The configuration source the settings ask for: App Configuration when AZURE_APPCONFIG_ENDPOINT or
 * AZURE_APPCONFIG_CONNECTION_STRING is set, the environment alone otherwise.
 */
export async function configSourceFromEnvironment(env: Environment, options: AppConfigurationSourceOptions): Promise<ConfigSource> {
  const settings = checkEnvironment(env);
  if (settings === undefined) return staticConfigSource(assembleConfig(env));
  return AppConfigurationSource.start(env, settings, options);
}
