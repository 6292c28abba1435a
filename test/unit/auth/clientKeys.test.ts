import { assertModelAllowed, authorize, findClientKey, presentedKey } from '../../../src/core/auth/clientKeys';
import { loadConfig, sha256, type ClientKey, parseClientKey, StoreValueError } from '../../../src/core/config/config';
import { ProxyError } from '../../../src/core/errors/catalogue';

const ENDPOINT = { AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com' };

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

describe('findClientKey', () => {
  const keys: ClientKey[] = [
    { name: 'alpha', digest: sha256('alpha') },
    { name: 'long', digest: sha256('a-much-longer-key-0123456789') },
    { name: 'again', digest: sha256('alpha') },
  ];

  it('finds only an exact key, of any length, and the first of equal ones', () => {
    expect(findClientKey('alpha', keys)?.name).toBe('alpha');
    expect(findClientKey('a-much-longer-key-0123456789', keys)?.name).toBe('long');
    for (const wrong of ['alph', 'alphaa', '', 'ALPHA']) expect(findClientKey(wrong, keys)).toBeUndefined();
    expect(findClientKey('alpha', [])).toBeUndefined();
  });
});

describe('authorize', () => {
  it('passes the caller key through, and refuses a call without one', () => {
    const config = loadConfig(ENDPOINT);
    expect(authorize(config, new Headers({ authorization: 'Bearer azure-key' }))).toEqual({ passthroughKey: 'azure-key' });
    expect(statusOf(() => authorize(config, new Headers()))).toBe(401);
  });

  it('with a held key, requires a client key and names the caller by its key name', () => {
    const config = loadConfig({ ...ENDPOINT, AZURE_OPENAI_TOKEN: 'held', PROXY_API_KEYS: 'client-1,client-2' });
    expect(authorize(config, new Headers({ 'api-key': 'client-2' }))).toEqual({ keyName: 'env-2' });
    expect(statusOf(() => authorize(config, new Headers({ authorization: 'Bearer held' })))).toBe(401);
    expect(statusOf(() => authorize(config, new Headers()))).toBe(401);
  });

  it('with managed identity, requires a client key too', () => {
    const config = loadConfig({ ...ENDPOINT, AZURE_OPENAI_AUTH: 'managed-identity', PROXY_API_KEYS: 'k' });
    expect(authorize(config, new Headers({ authorization: 'Bearer k' }))).toEqual({ keyName: 'env-1' });
    expect(statusOf(() => authorize(config, new Headers({ authorization: 'Bearer other' })))).toBe(401);
  });

  it('with a held key and explicit anonymous use, lets anyone through', () => {
    const config = loadConfig({ ...ENDPOINT, AZURE_OPENAI_TOKEN: 'held', PROXY_ALLOW_ANONYMOUS: 'true' });
    expect(authorize(config, new Headers())).toEqual({ keyName: 'anonymous' });
  });
});

describe('assertModelAllowed', () => {
  it('lets an unlimited key use any model, and a limited one only its own', () => {
    expect(() => assertModelAllowed({ keyName: 'a' }, 'gpt-4o')).not.toThrow();
    expect(() => assertModelAllowed({ keyName: 'b', models: ['gpt-4o'] }, 'gpt-4o')).not.toThrow();
    expect(statusOf(() => assertModelAllowed({ keyName: 'b', models: ['gpt-4o'] }, 'gpt-4.1'))).toBe(403);
  });
});

describe('client-key grants', () => {
  it('reads grants of a key limited to models, and refuses them on an unlimited key or when unknown', () => {
    const sha256 = 'a'.repeat(64);
    expect(parseClientKey('k', { sha256, models: ['gpt-4o'], grants: ['files', 'assistants'] })).toMatchObject({ models: ['gpt-4o'], grants: ['files', 'assistants'] });
    expect(() => parseClientKey('k', { sha256, grants: ['files'] })).toThrow('grants apply to a key limited to models');
    expect(() => parseClientKey('k', { sha256, models: ['gpt-4o'], grants: ['everything'] })).toThrow(StoreValueError);
  });
});
