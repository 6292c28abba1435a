/**
 * The proxy's settings, validated at the edge so the rest of the core works on typed values: the snapshot's types
 * (types.ts), the settings and their validation (settings.ts), assembling a snapshot (assemble.ts), and the values
 * App Configuration holds (storeValues.ts). This is their public surface.
 */
export {
  API_FAMILIES,
  GRANTS,
  type Grant,
  ConfigError,
  DEFAULT_API_VERSION,
  DEFAULT_APPCONFIG_KEY_PREFIX,
  DEFAULT_APPCONFIG_REFRESH_SECONDS,
  DEFAULT_APPCONFIG_STARTUP_TIMEOUT_SECONDS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_OPENAI_BASE_URL,
  DEFAULT_PREVIEW_API_VERSION,
  type ApiFamily,
  type ApiShape,
  type AppConfigurationSettings,
  type ClientKey,
  type Environment,
  type ProxyConfig,
  type ProxyMode,
  type RoutingSettings,
  type UpstreamAuth,
  type UsageStoreSettings,
  type DiscoverySettings,
  type EntraGrant,
  type EntraSettings,
} from './types';
export { SETTING_NAMES, sha256, STORE_SETTING_KEYS, type StoreValues } from './settings';
export { assembleConfig, checkEnvironment, loadConfig, usageStoreSettings, type AssembleOptions } from './assemble';
export { isStoreSettingKey, parseClientKey, parseModelTarget, parsePrice, parseStoreSetting, StoreValueError } from './storeValues';
