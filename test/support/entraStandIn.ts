/**
 * A stand-in for Microsoft Entra ID's token signing on loopback, for the proxy's Entra callers: each tenant's v2 and
 * v1 OpenID configurations (with Entra's issuers) and its signing keys (JWKS), with tokens the tests sign. Keys can
 * be rotated; every fetch of the keys is counted.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type KeyLike } from 'jose';

export interface SigningKey {
  kid: string;
  privateKey: KeyLike;
  publicJwk: JWK;
}

export async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' } };
}

export interface EntraStandIn {
  url: string;
  /** The keys each tenant publishes now (replace to rotate). */
  published: Map<string, SigningKey[]>;
  keyFetches: number;
  close(): Promise<void>;
}

export async function startEntraStandIn(tenants: Record<string, SigningKey[]>): Promise<EntraStandIn> {
  const published = new Map(Object.entries(tenants));
  const state = { keyFetches: 0 };
  let origin = '';
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const match = /^\/([0-9a-f-]{36})\/(v2\.0\/\.well-known\/openid-configuration|\.well-known\/openid-configuration|discovery\/v2\.0\/keys)$/.exec(path);
    const tenant = match?.[1];
    if (match === null || tenant === undefined || !published.has(tenant)) return send(400, { error: 'invalid_tenant', error_description: `AADSTS90002: Tenant '${tenant ?? ''}' not found.` });
    const jwksUri = `${origin}/${tenant}/discovery/v2.0/keys`;
    if (match[2] === 'v2.0/.well-known/openid-configuration') return send(200, { issuer: `https://login.microsoftonline.com/${tenant}/v2.0`, jwks_uri: jwksUri });
    if (match[2] === '.well-known/openid-configuration') return send(200, { issuer: `https://sts.windows.net/${tenant}/`, jwks_uri: jwksUri });
    state.keyFetches++;
    return send(200, { keys: (published.get(tenant) ?? []).map((key) => key.publicJwk) });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: origin,
    published,
    get keyFetches() {
      return state.keyFetches;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface TokenOptions {
  tenant: string;
  audience: string;
  key: SigningKey;
  /** v2 (`azp`, login.microsoftonline.com/{tenant}/v2.0) by default, or v1 (`appid`, sts.windows.net). */
  version?: 1 | 2;
  claims?: JWTPayload;
  /** Seconds from now. */
  expiresIn?: number;
  notBefore?: number;
  issuer?: string;
}

/** A token as Entra issues one to an app calling the proxy. */
export function entraToken(options: TokenOptions): Promise<string> {
  const version = options.version ?? 2;
  const now = Math.floor(Date.now() / 1000);
  const issuer = options.issuer ?? (version === 2 ? `https://login.microsoftonline.com/${options.tenant}/v2.0` : `https://sts.windows.net/${options.tenant}/`);
  const app = { [version === 2 ? 'azp' : 'appid']: '11111111-2222-3333-4444-555555555555' };
  return new SignJWT({ tid: options.tenant, oid: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', ver: version === 2 ? '2.0' : '1.0', ...app, ...options.claims })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: options.key.kid })
    .setIssuer(issuer)
    .setAudience(options.audience)
    .setIssuedAt(now - 10)
    .setNotBefore(now + (options.notBefore ?? -10))
    .setExpirationTime(now + (options.expiresIn ?? 3600))
    .sign(options.key.privateKey);
}
