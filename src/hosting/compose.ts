/**
 * The composition step: the proxy as the app settings describe it, with the adapters they ask for. Its
 * configuration source (the environment, or App Configuration over it), its upstream credential (with auth
 * `managed-identity`, a cached Entra token of the app's identity from DefaultAzureCredential, the user-assigned one
 * with AZURE_CLIENT_ID), and its metrics (Azure Monitor, with APPLICATIONINSIGHTS_CONNECTION_STRING). Both hosts
 * call it; nothing else makes an adapter.
 */
import type { TokenCredential } from '@azure/identity';
import { appConfigurationReader } from '../adapters/azure/appConfiguration';
import { appIdentity, managedIdentityTokens } from '../adapters/azure/identity';
import { tableCounterStore } from '../adapters/azure/tableCounters';
import { tableLedgerStore } from '../adapters/azure/tableLedger';
import { tableOwnerStore } from '../adapters/azure/tableOwners';
import { createMetrics, monitorAuthentication } from '../adapters/azure/monitorMetrics';
import {
  assembleConfig,
  checkEnvironment,
  createProxy,
  createUpstreamCredentials,
  DeploymentDiscovery,
  resourceManagerDeployments,
  resourceManagerScope,
  staticConfigSource,
  StoreConfigSource,
  withDiscovery,
  type ConfigSource,
  type Environment,
  type Logger,
  type OpenAIProxy,
  type CounterStore,
  type LedgerStore,
  type OwnerStore,
  type ProxyConfig,
  type ProxyOptions,
  type UsageStoreSettings,
  type TokenCache,
} from '../core';

export interface FromEnvironmentOptions extends ProxyOptions {
  logger: Logger;
}

/**
 * The configuration source the settings ask for: App Configuration when AZURE_APPCONFIG_ENDPOINT or
 * AZURE_APPCONFIG_CONNECTION_STRING is set, the environment alone otherwise.
 */
async function configSourceFromEnvironment(env: Environment, options: { logger: Logger }): Promise<ConfigSource> {
  const settings = checkEnvironment(env);
  if (settings === undefined) return staticConfigSource(assembleConfig(env));
  return StoreConfigSource.start(env, settings, { logger: options.logger, reader: appConfigurationReader(settings) });
}

export async function createProxyFromEnvironment(env: Environment, options: FromEnvironmentOptions): Promise<OpenAIProxy> {
  let source = await configSourceFromEnvironment(env, { logger: options.logger });
  const { azure, notices } = source.current();
  for (const notice of notices) options.logger.warn(notice);
  // Made on first use: the proxy's auth, or only some backends of a pool, may use the managed identity.
  const tokens = managedIdentityTokens(azure.managedIdentityClientId);
  const credentials = options.credentials ?? createUpstreamCredentials(tokens);
  if (azure.discovery !== undefined) source = withDiscovery(source, await startDiscovery(azure.discovery, tokens, options.logger));
  const connectionString = env.APPLICATIONINSIGHTS_CONNECTION_STRING;
  const metrics = options.metrics ?? (connectionString ? createMetrics(connectionString, { ...monitorCredential(env) }) : undefined);
  const { usage } = source.current();
  // Limits' counts shared across instances through Table Storage when set; else held in this process.
  const stores = usageStores(usage, azure.managedIdentityClientId);
  const counters = options.counters ?? stores?.counters;
  const ledger = options.ledger ?? stores?.ledger;
  const owners = options.owners ?? stores?.owners;
  return createProxy(source, {
    ...options,
    credentials,
    ...(metrics !== undefined && { metrics }),
    ...(counters !== undefined && { counters }),
    ...(ledger !== undefined && { ledger }),
    ...(owners !== undefined && { owners }),
  });
}

/**
 * Limits' counts, the usage ledger and objects' creators in Table Storage, when a usage store is set (with the
 * app's identity, unless a connection string is given); undefined otherwise: counts and ledger are held in this
 * process, and keys share objects.
 */
export function usageStores(usage: UsageStoreSettings, clientId: string | undefined): { counters: CounterStore; ledger: LedgerStore; owners: OwnerStore } | undefined {
  if (usage.tableEndpoint === undefined && usage.connectionString === undefined) return undefined;
  const credential = usage.connectionString === undefined ? appIdentity(clientId) : undefined;
  return { counters: tableCounterStore(usage, credential), ledger: tableLedgerStore(usage, credential), owners: tableOwnerStore(usage, credential) };
}

/** The account's deployments from Resource Manager, with the app's identity (`az login` on a workstation). */
function startDiscovery(settings: NonNullable<ProxyConfig['azure']['discovery']>, tokens: (scope: string) => TokenCache, logger: Logger): Promise<DeploymentDiscovery> {
  const { resourceManagerEndpoint: endpoint, resourceId, refreshSeconds } = settings;
  const lister = resourceManagerDeployments({ endpoint, resourceId, token: () => tokens(resourceManagerScope(endpoint)).get() });
  return DeploymentDiscovery.start({ lister, refreshSeconds, logger, resourceId });
}

/** The exporter's credential when the app settings ask for Entra authentication to Application Insights. */
function monitorCredential(env: Environment): { credential?: TokenCredential } {
  const authentication = monitorAuthentication(env.APPLICATIONINSIGHTS_AUTHENTICATION_STRING);
  if (!authentication.entra) return {};
  const clientId = authentication.clientId;
  return { credential: appIdentity(clientId) };
}
