/**
 * The proxy as the app settings describe it: its configuration source (the environment, or App Configuration
 * over it) and its upstream credential (with auth `managed-identity`, a cached Entra token of the app's
 * identity from DefaultAzureCredential, or ManagedIdentityCredential's user-assigned form with AZURE_CLIENT_ID).
 */
import type { TokenCredential } from '@azure/identity';
import { configSourceFromEnvironment } from '../adapters/azure/appConfiguration';
import { loadIdentity } from '../adapters/azure/sdks';
import type { Environment } from '../core/config/config';
import type { Logger } from '../core/logger';
import { createProxy, type OpenAIProxy, type ProxyOptions } from '../core/proxy';
import { createMetrics, monitorAuthentication } from '../adapters/azure/monitorMetrics';
import { COGNITIVE_SERVICES_SCOPE, createUpstreamCredentials, TokenCache } from '../core/upstream/credential';

export interface FromEnvironmentOptions extends ProxyOptions {
  logger: Logger;
}

export async function createProxyFromEnvironment(env: Environment, options: FromEnvironmentOptions): Promise<OpenAIProxy> {
  const source = await configSourceFromEnvironment(env, { logger: options.logger });
  const { azure } = source.current();
  let tokens: TokenCache | undefined;
  // Made on first use: the proxy's auth, or only some backends of a pool, may use the managed identity.
  const credentials =
    options.credentials ??
    createUpstreamCredentials(
      () =>
        (tokens ??= new TokenCache(
          new (loadIdentity().DefaultAzureCredential)(azure.managedIdentityClientId === undefined ? {} : { managedIdentityClientId: azure.managedIdentityClientId }),
          COGNITIVE_SERVICES_SCOPE,
        )),
    );
  const connectionString = env.APPLICATIONINSIGHTS_CONNECTION_STRING;
  const metrics = options.metrics ?? (connectionString ? createMetrics(connectionString, { ...monitorCredential(env) }) : undefined);
  return createProxy(source, { ...options, credentials, ...(metrics !== undefined && { metrics }) });
}

/** The exporter's credential when the app settings ask for Entra authentication to Application Insights. */
function monitorCredential(env: Environment): { credential?: TokenCredential } {
  const authentication = monitorAuthentication(env.APPLICATIONINSIGHTS_AUTHENTICATION_STRING);
  if (!authentication.entra) return {};
  const clientId = authentication.clientId;
  return { credential: new (loadIdentity().DefaultAzureCredential)(clientId === undefined ? {} : { managedIdentityClientId: clientId }) };
}
