/**
 * The app's managed identity as the core's token source: one DefaultAzureCredential (the user-assigned identity
 * with a client id), made on first use, and one token cache per scope, that is per cloud (core `tokenScopeFor`).
 */
import type { TokenCredential } from '@azure/identity';
import { TokenCache } from '../../core';
import { loadIdentity } from './sdks';

/** The app's identity as a TokenCredential, for the SDKs that take one (Table Storage, the Monitor exporter). */
export function appIdentity(clientId: string | undefined): TokenCredential {
  return new (loadIdentity().DefaultAzureCredential)(clientId === undefined ? {} : { managedIdentityClientId: clientId });
}

/** The token cache for each scope, for `createUpstreamCredentials`; nothing is loaded or made until one is asked for. */
export function managedIdentityTokens(clientId: string | undefined): (scope: string) => TokenCache {
  let credential: TokenCredential | undefined;
  const caches = new Map<string, TokenCache>();
  return (scope) => {
    let cache = caches.get(scope);
    if (cache === undefined) {
      credential ??= appIdentity(clientId);
      cache = new TokenCache(credential, scope);
      caches.set(scope, cache);
    }
    return cache;
  };
}
