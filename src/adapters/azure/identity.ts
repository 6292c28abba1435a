/**
 * The app's managed identity as the core's token source: one DefaultAzureCredential (the user-assigned identity
 * with a client id), made on first use, and one token cache per scope, that is per cloud (core `tokenScopeFor`).
 */
import type { TokenCredential } from '@azure/identity';
import { TokenCache } from '../../core';
import { loadIdentity } from './sdks';

/** The token cache for each scope, for `createUpstreamCredentials`; nothing is loaded or made until one is asked for. */
export function managedIdentityTokens(clientId: string | undefined): (scope: string) => TokenCache {
  let credential: TokenCredential | undefined;
  const caches = new Map<string, TokenCache>();
  return (scope) => {
    let cache = caches.get(scope);
    if (cache === undefined) {
      credential ??= new (loadIdentity().DefaultAzureCredential)(clientId === undefined ? {} : { managedIdentityClientId: clientId });
      cache = new TokenCache(credential, scope);
      caches.set(scope, cache);
    }
    return cache;
  };
}
