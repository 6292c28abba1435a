import { HeaderMap } from '../../../src/core/http/headerMap';
import { isRelayedResponseHeader, keepRelayedResponseHeaders } from '../../../src/core/upstream/upstream';

describe('HeaderMap', () => {
  it('is case-insensitive, joins appended values as Headers does, and deletes', () => {
    const headers = HeaderMap.fromRaw(['Content-Type', 'application/json', 'X-Thing', 'a', 'x-thing', 'b']);
    expect(headers.get('content-type')).toBe('application/json');
    expect(headers.get('X-THING')).toBe('a, b');
    expect(headers.has('Content-type')).toBe(true);
    headers.set('X-Thing', 'c');
    expect(headers.get('x-thing')).toBe('c');
    headers.delete('X-THING');
    expect(headers.has('x-thing')).toBe(false);
    expect(headers.get('missing')).toBeNull();
  });

  it('keeps only the names a filter accepts', () => {
    const headers = HeaderMap.fromRaw(['Content-Type', 'text/plain', 'Set-Cookie', 'a=b'], (name) => name !== 'set-cookie');
    expect([...headers.keys()]).toEqual(['content-type']);
  });

  it('is read by what takes a Headers: web Headers, a Response, iteration and forEach', async () => {
    const headers = new HeaderMap();
    headers.set('X-One', '1');
    headers.append('x-two', '2');
    expect(new Headers(headers).get('x-two')).toBe('2');
    const response = new Response('body', { headers });
    expect(response.headers.get('x-one')).toBe('1');
    expect(await response.text()).toBe('body');
    expect([...headers]).toEqual([['x-one', '1'], ['x-two', '2']]);
    const seen: string[] = [];
    headers.forEach((value, name) => seen.push(`${name}=${value}`));
    expect(seen).toEqual(['x-one=1', 'x-two=2']);
  });

  it('lower-cases names however they are written, known to it or not', () => {
    const headers = HeaderMap.fromRaw(['Content-Type', 'application/json', 'X-Custom-THING', 'a', 'AUTHORIZATION', 'Bearer k', 'User-Agent', 'curl']);
    expect([...headers.keys()]).toEqual(['content-type', 'x-custom-thing', 'authorization', 'user-agent']);
    expect(headers.get('X-CUSTOM-thing')).toBe('a');
    expect(headers.get('Authorization')).toBe('Bearer k');
  });

  it("takes an HTTP client's raw headers as bytes (undici's): Latin-1, several values joined, a filter kept", () => {
    const bytes = (...texts: string[]): Buffer[] => texts.map((text) => Buffer.from(text, 'latin1'));
    const headers = HeaderMap.fromRaw(bytes('Content-Type', 'application/json', 'x-many', '1', 'Set-Cookie', 'a=b', 'X-Many', '2', 'x-name', 'caf\u00e9'), (name) => name !== 'set-cookie');
    expect([...headers]).toEqual([
      ['content-type', 'application/json'],
      ['x-many', '1, 2'],
      ['x-name', 'caf\u00e9'],
    ]);
    // Written back by Node as Latin-1: the same bytes.
    expect(Buffer.from(headers.get('x-name') as string, 'latin1')).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
  });

  it('knows the filter its names passed until a name is set or appended, and lists its pairs flat', () => {
    const relayed = (name: string): boolean => name !== 'set-cookie';
    const made = (): HeaderMap => HeaderMap.fromRaw(['content-type', 'application/json', 'set-cookie', 'a=b'], relayed);
    const headers = made();
    expect(headers.keptBy(relayed)).toBe(true);
    expect(headers.keptBy(() => true)).toBe(false);
    headers.delete('content-type');
    expect(headers.keptBy(relayed)).toBe(true);
    headers.set('Set-Cookie', 'c=d');
    expect(headers.keptBy(relayed)).toBe(false);
    const appended = made();
    appended.append('x-more', '1');
    expect(appended.keptBy(relayed)).toBe(false);
    expect(HeaderMap.fromRaw(['A', '1']).keptBy(relayed)).toBe(false);
    expect(made().pairs()).toEqual(['content-type', 'application/json']);
    expect(appended.pairs()).toEqual(['content-type', 'application/json', 'x-more', '1']);
  });
});

describe('keepRelayedResponseHeaders', () => {
  it("removes what is not for the client, unless the map was made keeping only that and nothing was set since", () => {
    const fromUpstream = HeaderMap.fromRaw(['Content-Type', 'application/json', 'apim-request-id', 'x', 'Connection', 'keep-alive'], isRelayedResponseHeader);
    expect(keepRelayedResponseHeaders(fromUpstream)).toBe(true);
    expect([...fromUpstream.keys()]).toEqual(['content-type', 'apim-request-id']);

    const setSince = HeaderMap.fromRaw(['content-type', 'application/json'], isRelayedResponseHeader);
    setSince.set('set-cookie', 'a=b');
    expect(keepRelayedResponseHeaders(setSince)).toBe(true);
    expect([...setSince.keys()]).toEqual(['content-type']);

    const unfiltered = HeaderMap.fromRaw(['content-type', 'application/json', 'connection', 'keep-alive']);
    expect(keepRelayedResponseHeaders(unfiltered)).toBe(true);
    expect([...unfiltered.keys()]).toEqual(['content-type']);

    const web = new Headers({ 'content-type': 'application/json', 'set-cookie': 'a=b' });
    expect(keepRelayedResponseHeaders(web)).toBe(true);
    expect([...web.keys()]).toEqual(['content-type']);
  });
});
