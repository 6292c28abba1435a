/**
 * The core's public surface: what hosts (src/hosting), adapters (src/adapters) and the function files may use.
 * Everything else under src/core is internal to it (a lint rule holds that). The core is the proxy over web-shaped
 * requests and responses; it knows no host and no Azure SDK (ARCHITECTURE.md).
 */
export { createProxy, type OpenAIProxy, type ProxyOptions } from './proxy';
export { boundedFields, consoleLogger, type LogFields, type Logger } from './logger';
// Settings, and where they come from.
export { assembleConfig, checkEnvironment, ConfigError, usageStoreSettings, type AppConfigurationSettings, type Environment, type UsageStoreSettings } from './config/config';
export { staticConfigSource, type ConfigSource } from './config/configSource';
// The account's deployments, found on their own (AZURE_OPENAI_RESOURCE_ID).
export { DeploymentDiscovery, withDiscovery } from './discovery/discovery';
export { describeDeployment } from './discovery/deployments';
export { discoveryFix, resourceManagerDeployments } from './discovery/resourceManager';
export { resourceManagerScope } from './azure/clouds';
export { AppConfigurationUnavailableError, storeEndpoint, StoreConfigSource, type KeyValueReader, type StoreSnapshot } from './config/storeSource';
// Requests and responses as hosts hand them over and write them out.
export { BodyLimitExceeded, ClientAbort, clientClosedBody, type ProxyRequest } from './http/proxyRequest';
export { discardBody, isEventStream, NULL_BODY_STATUSES, type ProxyResponse } from './http/proxyResponse';
export { HeaderMap } from './http/headerMap';
export { readableToWeb } from './streams/webBody';
export { errorResponse } from './errors/catalogue';
// The route table the functions register from.
export { CATCH_ALL_FUNCTION, functionRoute } from './routes/routes';
// What adapters implement.
export type { RequestMetrics } from './usage/metrics';
export type { CounterStore } from './limits/counters';
export type { OwnerStore } from './ownership/owners';
export { hourOf, sumRows, type LedgerRow, type LedgerStore } from './usage/ledger';
export { COGNITIVE_SERVICES_SCOPE, createUpstreamCredentials, TokenCache, tokenScopeFor } from './upstream/credential';
// What the doctor (src/cli) checks the way the proxy would.
export { deploymentTarget, resourceUrl } from './azure/azureApi';
export { primaryBackend, type Backend } from './config/modelMap';
export type { ProxyConfig } from './config/config';
