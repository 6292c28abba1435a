/**
 * Callers signed in with Microsoft Entra ID: their access token, sent where a client key would go (the OpenAI SDKs
 * send it as the API key, unchanged), checked as the standards require, with `jose` doing the cryptography:
 *
 * - the signature, against the signing keys the token's tenant publishes (its OpenID configuration's `jwks_uri`),
 *   fetched once and cached; a token signed with a key not yet seen fetches them again (a key rotation), at most
 *   once per REFRESH_COOLDOWN_MS, so tokens with made-up key ids cannot make the proxy hammer Entra;
 * - RS256 only (what Entra signs with): `alg: none` and symmetric algorithms are refused;
 * - the issuer, v2 (`https://login.microsoftonline.com/{tenant}/v2.0`) or v1 (`https://sts.windows.net/{tenant}/`),
 *   as the tenant's own OpenID configurations name them; only tenants the settings list;
 * - the audience (the proxy's App ID URI or client id), expiry and not-before, with CLOCK_SKEW_SECONDS of leeway.
 */
import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import type { EntraSettings } from '../config/config';
import { proxyError, ProxyError } from '../errors/catalogue';
import { reasonOf } from '../logger';

/** Who a verified token says is calling. */
export interface EntraIdentity {
  /** The calling app's client id (`azp` in v2 tokens, `appid` in v1). */
  appId: string;
  /** The calling identity's object id (a managed identity's, a service principal's or a user's). */
  objectId?: string;
  tenantId: string;
  /** App roles granted to the caller, and its groups, in the token's order. */
  roles: readonly string[];
  groups: readonly string[];
}

const CLOCK_SKEW_SECONDS = 60;
/** The least time between two fetches of a tenant's signing keys for a key not seen. */
const REFRESH_COOLDOWN_MS = 30_000;
/** Keys are fetched again after this long even when every key id is known. */
const KEYS_MAX_AGE_MS = 24 * 3_600_000;
const FETCH_TIMEOUT_MS = 10_000;

interface TenantKeys {
  issuers: string[];
  keys: ReturnType<typeof createRemoteJWKSet>;
}

/** A token's shape (three base64url parts, a JSON header): told from a client key without verifying anything. */
export function looksLikeJwt(value: string): boolean {
  return value.startsWith('eyJ') && value.split('.').length === 3;
}

function refused(reason: string): ProxyError {
  return proxyError('invalid_api_key', `The Microsoft Entra token was refused: ${reason}.`);
}

async function openIdConfiguration(url: string): Promise<{ issuer: string; jwks_uri: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
  if (typeof document.issuer !== 'string' || typeof document.jwks_uri !== 'string') throw new Error(`${url} has no issuer or jwks_uri`);
  return { issuer: document.issuer, jwks_uri: document.jwks_uri };
}

/** Verifies Entra tokens; one per proxy, holding each tenant's signing keys. */
export class EntraTokens {
  readonly #tenants = new Map<string, Promise<TenantKeys>>();
  readonly #refreshCooldownMs: number;

  /** `refreshCooldownMs`: REFRESH_COOLDOWN_MS, which tests shorten so that a key rotation is seen at once. */
  constructor(options: { refreshCooldownMs?: number } = {}) {
    this.#refreshCooldownMs = options.refreshCooldownMs ?? REFRESH_COOLDOWN_MS;
  }

  async verify(token: string, settings: EntraSettings): Promise<EntraIdentity> {
    let claims: JWTPayload;
    try {
      claims = decodeJwt(token);
    } catch {
      throw refused('it is not a JSON Web Token');
    }
    // Which tenant's keys to check it with: read before verifying, and trusted only once the signature and the
    // issuer (which names the tenant) check out.
    const tenantId = typeof claims.tid === 'string' ? claims.tid.toLowerCase() : undefined;
    if (tenantId === undefined || !settings.tenants.includes(tenantId)) throw refused('it was not issued by a tenant this proxy accepts (PROXY_ENTRA_TENANT_IDS)');
    const tenant = await this.#tenant(settings.authority, tenantId);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, tenant.keys, {
        issuer: tenant.issuers,
        audience: [...settings.audiences],
        algorithms: ['RS256'],
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw refused(reasonFor(error));
    }
    const appId = typeof payload.azp === 'string' ? payload.azp : typeof payload.appid === 'string' ? payload.appid : undefined;
    if (appId === undefined) throw refused('it names no calling app (azp or appid)');
    return {
      appId,
      ...(typeof payload.oid === 'string' && { objectId: payload.oid }),
      tenantId,
      roles: stringList(payload.roles),
      groups: stringList(payload.groups),
    };
  }

  /** A tenant's issuers and signing keys, read once from its OpenID configurations (v2 and v1). */
  #tenant(authority: string, tenantId: string): Promise<TenantKeys> {
    const key = `${authority}/${tenantId}`;
    let tenant = this.#tenants.get(key);
    if (tenant === undefined) {
      tenant = (async (): Promise<TenantKeys> => {
        const [v2, v1] = await Promise.all([openIdConfiguration(`${key}/v2.0/.well-known/openid-configuration`), openIdConfiguration(`${key}/.well-known/openid-configuration`)]);
        const keys = createRemoteJWKSet(new URL(v2.jwks_uri), { cooldownDuration: this.#refreshCooldownMs, cacheMaxAge: KEYS_MAX_AGE_MS, timeoutDuration: FETCH_TIMEOUT_MS });
        return { issuers: [v2.issuer, v1.issuer], keys };
      })();
      // A failure is not kept: the next token asks again.
      tenant.catch(() => this.#tenants.delete(key));
      this.#tenants.set(key, tenant);
    }
    return tenant.catch((error: unknown) => {
      throw proxyError('proxy_not_ready', `The proxy could not read the signing keys of Microsoft Entra tenant ${tenantId}: ${reasonOf(error)}.`);
    });
  }
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** What was wrong with a token, in words a caller can act on (never the token). */
function reasonFor(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'it has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return 'it is for another audience than this proxy (PROXY_ENTRA_AUDIENCE)';
    if (error.claim === 'iss') return "its issuer is not its tenant's";
    if (error.claim === 'nbf') return 'it is not valid yet';
    return `its ${error.claim} claim is not valid`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'it is not signed with RS256';
  if (error instanceof errors.JWKSNoMatchingKey) return 'it is signed with a key its tenant does not publish';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'its signature does not verify';
  if (error instanceof errors.JWKSTimeout) return "its tenant's signing keys could not be read in time";
  return 'it could not be verified';
}
