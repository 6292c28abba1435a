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

  /** From Node's `rawHeaders`: name, value, name, value… */
  static fromRaw(raw: readonly string[], keep?: (name: string) => boolean): HeaderMap {
    const headers = new HeaderMap();
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = (raw[i] as string).toLowerCase();
      if (keep === undefined || keep(name)) headers.#add(name, raw[i + 1] as string);
    }
    return headers;
  }

  #add(key: string, value: string): void {
    const existing = this.#map.get(key);
    this.#map.set(key, existing === undefined ? value : `${existing}, ${value}`);
  }

  append(name: string, value: string): void {
    this.#add(name.toLowerCase(), value);
  }

  delete(name: string): void {
    this.#map.delete(name.toLowerCase());
  }

  get(name: string): string | null {
    return this.#map.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.#map.has(name.toLowerCase());
  }

  set(name: string, value: string): void {
    this.#map.set(name.toLowerCase(), value);
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
