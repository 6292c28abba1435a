import { createHash } from 'node:crypto';
import { Authorizer, matchesAnyKey, presentedKey } from '../../src/core/auth';
import { ProxyError } from '../../src/core/errors';

const digest = (k: string): Buffer => createHash('sha256').update(k).digest();

function statusOf(run: () => unknown): number | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof ProxyError) return error.status;
    throw error;
  }
}

describe('presentedKey', () => {
  it('reads Bearer auth first, then api-key', () => {
    expect(presentedKey(new Headers({ authorization: 'Bearer abc' }))).toBe('abc');
    expect(presentedKey(new Headers({ authorization: 'bearer   abc  ' }))).toBe('abc');
    expect(presentedKey(new Headers({ 'api-key': ' xyz ' }))).toBe('xyz');
    expect(presentedKey(new Headers({ authorization: 'Bearer abc', 'api-key': 'xyz' }))).toBe('abc');
    expect(presentedKey(new Headers({ authorization: 'Basic dXNlcg==', 'api-key': 'xyz' }))).toBe('xyz');
    expect(presentedKey(new Headers({ authorization: 'Bearer ' }))).toBeUndefined();
    expect(presentedKey(new Headers())).toBeUndefined();
  });
});

describe('matchesAnyKey', () => {
  it('matches only an exact key, of any length', () => {
    const keys = [digest('alpha'), digest('a-much-longer-key-0123456789')];
    expect(matchesAnyKey('alpha', keys)).toBe(true);
    expect(matchesAnyKey('a-much-longer-key-0123456789', keys)).toBe(true);
    expect(matchesAnyKey('alph', keys)).toBe(false);
    expect(matchesAnyKey('alphaa', keys)).toBe(false);
    expect(matchesAnyKey('', keys)).toBe(false);
    expect(matchesAnyKey('alpha', [])).toBe(false);
  });
});

describe('Authorizer', () => {
  it('passes the caller key through, and refuses a call without one', () => {
    const authorizer = new Authorizer({ clientKeys: [], azure: {} });
    expect(authorizer.authorize(new Headers({ authorization: 'Bearer azure-key' }))).toEqual({ apiKey: 'azure-key' });
    expect(statusOf(() => authorizer.authorize(new Headers()))).toBe(401);
  });

  it('with a held key, requires a client key and sends the held key', () => {
    const authorizer = new Authorizer({ clientKeys: ['client-1', 'client-2'], azure: { fixedApiKey: 'held' } });
    expect(authorizer.authorize(new Headers({ 'api-key': 'client-2' }))).toEqual({ apiKey: 'held' });
    expect(statusOf(() => authorizer.authorize(new Headers({ authorization: 'Bearer held' })))).toBe(401);
    expect(statusOf(() => authorizer.authorize(new Headers()))).toBe(401);
  });

  it('with a held key and explicit anonymous use, lets anyone through', () => {
    const authorizer = new Authorizer({ clientKeys: [], azure: { fixedApiKey: 'held' } });
    expect(authorizer.authorize(new Headers())).toEqual({ apiKey: 'held' });
  });
});
