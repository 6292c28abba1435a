/**
 * Azure App Configuration as the proxy's key-value store: every key under the prefix (and label) is read with
 * `@azure/app-configuration`, and watched through the list's page ETags, as `@azure/app-configuration-provider`
 * does: one conditional request asks whether anything changed (304 if not). (The provider itself is not used: it
 * swallows a failed refresh into a console line, so the proxy could neither warn once nor tell when the store
 * answers again.) What is done with the values is the core's (src/core/config/storeSource.ts).
 */
import type { AppConfigurationClient, ConfigurationSetting } from '@azure/app-configuration';
import type { TokenCredential } from '@azure/identity';
import { isPlainHttpOnLoopback } from './loopback';
import { loadAppConfiguration, loadIdentity } from './sdks';
import { storeEndpoint, type AppConfigurationSettings, type KeyValueReader, type StoreSnapshot } from '../../core';

function isJsonContentType(contentType: string | undefined): boolean {
  const mediaType = contentType?.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || (mediaType.startsWith('application/') && mediaType.endsWith('+json'));
}

/** Reads the proxy's keys from the store, and tells cheaply whether they changed since the last read. */
class StoreReader implements KeyValueReader {
  readonly #client: AppConfigurationClient;
  readonly #settings: AppConfigurationSettings;
  #pageEtags: string[] = [];

  constructor(settings: AppConfigurationSettings, credential: TokenCredential | undefined) {
    this.#settings = settings;
    const endpoint = storeEndpoint(settings);
    const options = {
      // Plain http is allowed only on loopback, for tests; the SDK itself refuses tokens over http.
      allowInsecureConnection: isPlainHttpOnLoopback(endpoint),
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

/** The store the settings name, read with the credential given (by default DefaultAzureCredential: the managed identity). */
export function appConfigurationReader(settings: AppConfigurationSettings, credential?: TokenCredential): KeyValueReader {
  return new StoreReader(settings, credential);
}
