/**
 * A `Headers` for headers that are valid already: parsed by Node's HTTP parser (a request's, an upstream
 * answer's) or set by the proxy itself. Same methods, over a Map of lower-case names, without what the web class
 * does on every call, validating each name and value and sorting the names for each iteration, which on a small
 * call costs more than several steps of the proxy's own work. Anything that takes a `Headers` takes it (a web
 * `Response` reads it as a list of pairs).
 *
 * Differences that do not matter here: names iterate in the order they were first set, and `set-cookie` values
 * are joined like any other (the proxy never relays them).
 */
export class HeaderMap implements Headers {
  readonly #map = new Map<string, string>();
  /** The filter every name passed when the map was made, while no name has been set since. */
  #keptBy: ((name: string) => boolean) | undefined;

  /**
   * From raw headers, name, value, name, value…: Node's `rawHeaders` (strings), or an HTTP client's (undici's bytes,
   * each read as Latin-1, which Node writes back as the same bytes, so a relayed value reaches the client as it
   * came). Only names that `keep` accepts are kept, and only their values read; the map knows that filter (`keptBy`).
   */
  static fromRaw(raw: readonly (string | Buffer)[], keep?: (name: string) => boolean): HeaderMap {
    const headers = new HeaderMap();
    headers.#keptBy = keep;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = lowerCase(text(raw[i] as string | Buffer));
      if (keep === undefined || keep(name)) headers.#add(name, text(raw[i + 1] as string | Buffer));
    }
    return headers;
  }

  #add(key: string, value: string): void {
    const existing = this.#map.get(key);
    this.#map.set(key, existing === undefined ? value : `${existing}, ${value}`);
  }

  /**
   * Whether every name in the map passed `filter`, known without looking at them: the map was made with that
   * filter (`fromRaw`), and nothing has been set or appended since.
   */
  keptBy(filter: (name: string) => boolean): boolean {
    return this.#keptBy === filter;
  }

  /** Its names and values, one after the other (name, value, name, value…), as Node's `writeHead` takes them. */
  pairs(): string[] {
    const pairs: string[] = [];
    // forEach, not iteration: no [name, value] array per header.
    this.#map.forEach((value, name) => pairs.push(name, value));
    return pairs;
  }

  append(name: string, value: string): void {
    this.#keptBy = undefined;
    this.#add(lowerCase(name), value);
  }

  delete(name: string): void {
    this.#map.delete(lowerCase(name));
  }

  get(name: string): string | null {
    return this.#map.get(lowerCase(name)) ?? null;
  }

  has(name: string): boolean {
    return this.#map.has(lowerCase(name));
  }

  set(name: string, value: string): void {
    this.#keptBy = undefined;
    this.#map.set(lowerCase(name), value);
  }

  getSetCookie(): string[] {
    const value = this.#map.get('set-cookie');
    return value === undefined ? [] : [value];
  }

  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    for (const [key, value] of this.#map) callback.call(thisArg, value, key, this);
  }

  keys(): MapIterator<string> {
    return this.#map.keys();
  }

  values(): MapIterator<string> {
    return this.#map.values();
  }

  entries(): MapIterator<[string, string]> {
    return this.#map.entries();
  }

  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.#map.entries();
  }
}

/**
 * The names the proxy itself reads and writes, and the usual ones a client sends, each to its lower case. They are
 * found here by their hash (a name written in the code has it already), which costs a fraction of `toLowerCase`'s
 * pass over the name on each of a request's few dozen header reads and writes. Fixed: a name a client makes up is
 * lower-cased as it comes, never added.
 */
const KNOWN_NAMES: ReadonlyMap<string, string> = new Map(
  [
    'accept',
    'accept-encoding',
    'api-key',
    'apim-request-id',
    'authorization',
    'cache-control',
    'connection',
    'content-disposition',
    'content-encoding',
    'content-length',
    'content-type',
    'host',
    'openai-beta',
    'openai-organization',
    'openai-processing-ms',
    'openai-project',
    'origin',
    'retry-after',
    'retry-after-ms',
    'set-cookie',
    'traceparent',
    'tracestate',
    'user-agent',
    'x-accel-buffering',
    'x-ms-client-request-id',
    'x-ms-region',
    'x-ms-request-id',
    'x-proxy-attempts',
    'x-proxy-backend',
    'x-proxy-request-id',
    'x-ratelimit-limit-requests',
    'x-ratelimit-limit-tokens',
    'x-ratelimit-remaining-requests',
    'x-ratelimit-remaining-tokens',
    'x-request-id',
    'x-should-retry',
  ].flatMap((name) => [
    [name, name],
    [capitalised(name), name],
  ]),
);

/** `content-type` as `Content-Type`, as many clients write it. */
function capitalised(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => `${dash}${letter.toUpperCase()}`);
}

function text(raw: string | Buffer): string {
  return typeof raw === 'string' ? raw : raw.toString('latin1');
}

function lowerCase(name: string): string {
  return KNOWN_NAMES.get(name) ?? name.toLowerCase();
}
