import { createUpstreamCredentials, TokenCache, tokenScopeFor, type AccessToken, type TokenSource } from '../../../src/core/upstream/credential';
import { loadConfig } from '../../../src/core/config/config';
import { proxyErrorOf } from '../../support/proxyError';

const MINUTE = 60_000;

/** A credential that hands out numbered tokens, each valid for `lifetimeMs`, and counts the requests. */
function countingSource(lifetimeMs: number, delayMs = 0): TokenSource & { calls: number } {
  const source = {
    calls: 0,
    async getToken(): Promise<AccessToken> {
      source.calls++;
      const n = source.calls;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return { token: `token-${n}`, expiresOnTimestamp: Date.now() + lifetimeMs };
    },
  };
  return source;
}

describe('TokenCache', () => {
  afterEach(() => jest.useRealTimers());

  it('fetches one token for many concurrent requests, and reuses it', async () => {
    const source = countingSource(60 * MINUTE, 20);
    const cache = new TokenCache(source, 'scope/.default');
    const tokens = await Promise.all(Array.from({ length: 20 }, () => cache.get()));
    expect(new Set(tokens)).toEqual(new Set(['token-1']));
    expect(await cache.get()).toBe('token-1');
    expect(source.calls).toBe(1);
  });

  it('renews in the background before expiry, without making a request wait', async () => {
    jest.useFakeTimers({ doNotFake: ['setTimeout', 'nextTick', 'setImmediate'] });
    const source = countingSource(60 * MINUTE);
    const cache = new TokenCache(source, 'scope/.default', { renewBeforeMs: 5 * MINUTE });
    expect(await cache.get()).toBe('token-1');
    jest.setSystemTime(Date.now() + 54 * MINUTE); // six minutes left: no renewal yet
    expect(await cache.get()).toBe('token-1');
    expect(source.calls).toBe(1);
    jest.setSystemTime(Date.now() + 2 * MINUTE); // four minutes left: still served, renewed behind it
    expect(await cache.get()).toBe('token-1');
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(source.calls).toBe(2);
    expect(await cache.get()).toBe('token-2');
  });

  it('waits for a new token once the old one is about to expire', async () => {
    jest.useFakeTimers({ doNotFake: ['setTimeout', 'nextTick', 'setImmediate'] });
    const source = countingSource(60 * MINUTE);
    const cache = new TokenCache(source, 'scope/.default');
    await cache.get();
    jest.setSystemTime(Date.now() + 59.9 * MINUTE);
    expect(await cache.get()).toBe('token-2');
  });

  it('turns a credential failure into a 503 naming the cause', async () => {
    const cache = new TokenCache({ getToken: () => Promise.reject(new Error('ManagedIdentityCredential: no identity assigned\nmore detail')) }, 's');
    const error = await proxyErrorOf(cache.get());
    expect(error.status).toBe(503);
    expect(error.fields).toMatchObject({ type: 'server_error', code: 'upstream_credential_unavailable' });
    expect(error.fields.message).toContain('no identity assigned');
    expect(error.fields.message).not.toContain('more detail');
  });

  it('gives up on a credential that does not answer, within its timeout', async () => {
    const cache = new TokenCache({ getToken: () => new Promise<AccessToken>(() => undefined) }, 's', { timeoutMs: 150 });
    const started = Date.now();
    const error = await proxyErrorOf(cache.get());
    expect(error.status).toBe(503);
    expect(error.fields.message).toContain('no token after 150 ms');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('the token scope of each cloud', () => {
  it.each([
    ['https://r.openai.azure.com', 'https://cognitiveservices.azure.com/.default'],
    ['https://r.cognitiveservices.azure.com', 'https://cognitiveservices.azure.com/.default'],
    ['https://hub.services.ai.azure.com', 'https://cognitiveservices.azure.com/.default'],
    ['https://r.openai.azure.us', 'https://cognitiveservices.azure.us/.default'],
    ['https://r.cognitiveservices.azure.us', 'https://cognitiveservices.azure.us/.default'],
    ['https://r.openai.azure.cn', 'https://cognitiveservices.azure.cn/.default'],
    ['https://r.cognitiveservices.azure.cn', 'https://cognitiveservices.azure.cn/.default'],
  ])('%s asks for %s', (endpoint, scope) => {
    expect(tokenScopeFor(endpoint)).toBe(scope);
  });

  it("asks each backend's cloud for its token, the main endpoint's when it names none", async () => {
    const asked: string[] = [];
    const credentials = createUpstreamCredentials((scope) => {
      asked.push(scope);
      return new TokenCache({ getToken: async () => ({ token: `t-${scope}`, expiresOnTimestamp: Date.now() + 3_600_000 }) }, scope);
    });
    const config = loadConfig({ AZURE_OPENAI_ENDPOINT: 'https://gov.openai.azure.us', AZURE_OPENAI_AUTH: 'managed-identity', PROXY_API_KEYS: 'k' });
    expect(await credentials.headers(config, {})).toEqual({ authorization: 'Bearer t-https://cognitiveservices.azure.us/.default' });
    const china = { deployment: 'd', endpoint: 'https://cn.openai.azure.cn', auth: 'managed-identity' as const, priority: 1, weight: 1 };
    expect(await credentials.headers(config, {}, china)).toEqual({ authorization: 'Bearer t-https://cognitiveservices.azure.cn/.default' });
    expect(asked).toEqual(['https://cognitiveservices.azure.us/.default', 'https://cognitiveservices.azure.cn/.default']);
  });
});
