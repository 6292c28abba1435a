/** Where the proxy's configuration comes from: fixed at start-up, or refreshed from Azure App Configuration. */
import type { ProxyConfig } from './config';

export interface ConfigSource {
  /** The snapshot to serve the next request with. */
  current(): ProxyConfig;
  /** Stops background work (refresh timers). */
  close(): Promise<void>;
}

export function staticConfigSource(config: ProxyConfig): ConfigSource {
  return { current: () => config, close: async () => undefined };
}
