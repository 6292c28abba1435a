/**
 * Who may call, and with which credential the call goes upstream.
 *
 * Passthrough: the caller's own Azure key (`Authorization: Bearer K` or `api-key: K`) goes upstream as `api-key`.
 * Held key: with `AZURE_OPENAI_TOKEN` the proxy holds the Azure key, so callers must present one of the proxy's
 * own client keys instead; otherwise the proxy would be an open relay for anyone who finds its URL.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ProxyConfig } from './config';
import { ProxyError } from './errors';

/** The key a caller presented, from `Authorization: Bearer` (as the OpenAI SDKs send it) or `api-key`. */
export function presentedKey(headers: Headers): string | undefined {
  const authorization = headers.get('authorization');
  if (authorization !== null) {
    const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match?.[1] !== undefined) return match[1];
  }
  const apiKey = headers.get('api-key')?.trim();
  return apiKey === undefined || apiKey === '' ? undefined : apiKey;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Whether `candidate` is one of `keys`, in time that depends on neither the keys' contents nor their lengths:
 * both sides are hashed to a fixed size and every key is compared, without stopping at a match.
 */
export function matchesAnyKey(candidate: string, keys: readonly Buffer[]): boolean {
  const presented = digest(candidate);
  let found = false;
  for (const key of keys) found = timingSafeEqual(presented, key) || found;
  return found;
}

export interface UpstreamCredential {
  /** Sent upstream as `api-key`. */
  apiKey: string;
}

const MISSING_KEY_MESSAGE =
  "You didn't provide an API key. Send it in an Authorization header using Bearer auth " +
  '(Authorization: Bearer YOUR_KEY) or in an api-key header.';

export class Authorizer {
  readonly #fixedApiKey: string | undefined;
  readonly #clientKeyDigests: readonly Buffer[];

  constructor(config: Pick<ProxyConfig, 'clientKeys'> & { azure: Pick<ProxyConfig['azure'], 'fixedApiKey'> }) {
    this.#fixedApiKey = config.azure.fixedApiKey;
    this.#clientKeyDigests = config.clientKeys.map(digest);
  }

  /** The credential for the upstream call, or a ProxyError(401) in OpenAI's shape. */
  authorize(headers: Headers): UpstreamCredential {
    const key = presentedKey(headers);
    if (this.#fixedApiKey !== undefined) {
      if (this.#clientKeyDigests.length > 0) {
        if (key === undefined) throw missingKey();
        if (!matchesAnyKey(key, this.#clientKeyDigests)) throw invalidKey();
      }
      return { apiKey: this.#fixedApiKey };
    }
    if (key === undefined) throw missingKey();
    return { apiKey: key };
  }

  /** For routes the proxy answers itself: the same rules, without producing a credential. */
  check(headers: Headers): void {
    this.authorize(headers);
  }
}

function missingKey(): ProxyError {
  return new ProxyError(401, { message: MISSING_KEY_MESSAGE, type: 'invalid_request_error', code: 'missing_api_key' });
}

function invalidKey(): ProxyError {
  return new ProxyError(401, {
    message: 'Incorrect API key provided. Use one of the client keys issued for this proxy.',
    type: 'invalid_request_error',
    code: 'invalid_api_key',
  });
}
