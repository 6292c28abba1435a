/**
 * The credential each upstream call carries: the caller's key or the held key as `api-key`, or a Microsoft
 * Entra token of the app's managed identity as `Authorization: Bearer`. Tokens are cached and renewed in the
 * background before they expire, so no request waits for one after the first; a token that cannot be had is an
 * OpenAI-shaped 503 that names the cause, within a bounded time, never a hang.
 */
import type { Caller } from '../auth/clientKeys';
import type { ProxyConfig } from '../config/config';
import type { Backend } from '../config/modelMap';
import { proxyError, ProxyError } from '../errors/catalogue';
import { cloudOf, PUBLIC_CLOUD } from '../azure/clouds';

export const COGNITIVE_SERVICES_SCOPE = PUBLIC_CLOUD.cognitiveServicesScope;

/** The Entra token scope for an Azure OpenAI endpoint: its cloud's Cognitive Services audience (core/azure/clouds). */
export function tokenScopeFor(endpoint: string): string {
  // Asked on every call with the managed identity; endpoints come from the configuration only, so this stays small.
  let scope = scopes.get(endpoint);
  if (scope === undefined) {
    scope = cloudOf(endpoint).cognitiveServicesScope;
    scopes.set(endpoint, scope);
  }
  return scope;
}

const scopes = new Map<string, string>();

export interface AccessToken {
  token: string;
  expiresOnTimestamp: number;
}

/** The part of @azure/identity's TokenCredential this needs. */
export interface TokenSource {
  getToken(scopes: string | string[], options?: { abortSignal?: AbortSignal }): Promise<AccessToken | null>;
}

export interface TokenCacheOptions {
  /** Renew this long before expiry (in the background while the token is still good). */
  renewBeforeMs?: number;
  /** Give up on one token request after this long. */
  timeoutMs?: number;
}

export class TokenCache {
  readonly #source: TokenSource;
  readonly #scope: string;
  readonly #renewBeforeMs: number;
  readonly #timeoutMs: number;
  #token: AccessToken | undefined;
  #pending: Promise<AccessToken> | undefined;

  constructor(source: TokenSource, scope: string, options: TokenCacheOptions = {}) {
    this.#source = source;
    this.#scope = scope;
    this.#renewBeforeMs = options.renewBeforeMs ?? 5 * 60_000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  async get(): Promise<string> {
    const now = Date.now();
    const token = this.#token;
    if (token !== undefined && token.expiresOnTimestamp - now > this.#renewBeforeMs) return token.token;
    if (token !== undefined && token.expiresOnTimestamp - now > 30_000) {
      // Still good: hand it out, and renew it behind the scenes.
      this.#renew().catch(() => undefined);
      return token.token;
    }
    return (await this.#renew()).token;
  }

  /** One token request at a time, whoever asks. */
  #renew(): Promise<AccessToken> {
    this.#pending ??= this.#request().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #request(): Promise<AccessToken> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    let token: AccessToken | null;
    try {
      token = await Promise.race([
        this.#source.getToken(this.#scope, { abortSignal: timeout }),
        new Promise<never>((_, reject) => timeout.addEventListener('abort', () => reject(new Error(`no token after ${this.#timeoutMs} ms`)), { once: true })),
      ]);
    } catch (error) {
      throw tokenUnavailable(error, this.#scope);
    }
    if (token === null) throw tokenUnavailable(new Error('the credential returned no token'), this.#scope);
    this.#token = token;
    return token;
  }
}

function tokenUnavailable(error: unknown, scope?: string): ProxyError {
  const detail = error instanceof Error ? (error.message.split('\n')[0] ?? '').slice(0, 300) : 'unknown error';
  const audience = scope === undefined ? '' : ` (scope ${scope})`;
  return proxyError('upstream_credential_unavailable', `The proxy could not get a Microsoft Entra token${audience} from its managed identity: ${detail}`);
}

export interface UpstreamCredentials {
  /**
   * The auth header(s) for one upstream call of this caller, to this backend (to the main resource if none): at
   * once for a key, a promise only where a token may have to be fetched (so a keyed call waits on nothing).
   */
  headers(config: ProxyConfig, caller: Caller, backend?: Backend): Record<string, string> | Promise<Record<string, string>>;
}

/** `tokens(scope)`: the token cache for a scope (one per cloud the backends are in), made on first use. */
export function createUpstreamCredentials(tokens?: (scope: string) => TokenCache): UpstreamCredentials {
  return {
    headers(config, caller, backend) {
      switch (backend?.auth ?? config.azure.auth) {
        case 'passthrough':
          return { 'api-key': caller.passthroughKey ?? '' };
        case 'key': {
          const own = backend?.keySetting === undefined ? undefined : config.azure.backendKeys.get(backend.keySetting);
          return { 'api-key': own ?? config.azure.fixedApiKey ?? '' };
        }
        case 'managed-identity': {
          if (tokens === undefined) return Promise.reject(tokenUnavailable(new Error('no managed identity credential is set up')));
          return tokens(tokenScopeFor(backend?.endpoint ?? config.azure.endpoint))
            .get()
            .then((token) => ({ authorization: `Bearer ${token}` }));
        }
      }
    },
  };
}
