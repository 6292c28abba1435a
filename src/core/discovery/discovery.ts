/**
 * Deployments found on their own: the account's deployment list, read at start-up and refreshed on a timer (off
 * the request path), laid over each configuration snapshot's model map (`withDiscovery`). Explicit mappings still
 * win; see ModelMap.resolve for the order. A listing that fails keeps the last good list and warns once, with the
 * fix, until Resource Manager answers again: requests never wait for it and never fail because of it.
 */
import type { ProxyConfig } from '../config/config';
import type { ConfigSource } from '../config/configSource';
import { reasonOf, type Logger } from '../logger';
import { describeDeployment, type DeploymentLister, type DiscoveredDeployment } from './deployments';
import { discoveryFix } from './resourceManager';

export interface DeploymentDiscoveryOptions {
  lister: DeploymentLister;
  refreshSeconds: number;
  logger: Logger;
  /** The account, for log lines (AZURE_OPENAI_RESOURCE_ID). */
  resourceId: string;
  /**
   * Start-up waits this long for the first list, so the first `GET /v1/models` has it; past that the proxy
   * serves without (deployment names still work) and the list arrives in the background.
   */
  startupWaitMs?: number;
}

export class DeploymentDiscovery {
  readonly #options: DeploymentDiscoveryOptions;
  #deployments: readonly DiscoveredDeployment[] = [];
  #text = '[]';
  #version = 0;
  #loaded = false;
  #failing = false;
  #refreshing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;

  private constructor(options: DeploymentDiscoveryOptions) {
    this.#options = options;
  }

  static async start(options: DeploymentDiscoveryOptions): Promise<DeploymentDiscovery> {
    const discovery = new DeploymentDiscovery(options);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      discovery.refresh(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, options.startupWaitMs ?? 10_000);
      }),
    ]);
    clearTimeout(timer);
    discovery.#timer = setInterval(() => void discovery.refresh(), options.refreshSeconds * 1000);
    discovery.#timer.unref();
    return discovery;
  }

  /** The last good list; empty until the first listing succeeds. */
  get deployments(): readonly DiscoveredDeployment[] {
    return this.#deployments;
  }

  /** Changes whenever the list does. */
  get version(): number {
    return this.#version;
  }

  /** Lists the deployments now (one listing at a time, whoever asks). */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#list().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #list(): Promise<void> {
    const { lister, logger, resourceId } = this.#options;
    let deployments: DiscoveredDeployment[];
    try {
      deployments = await lister.list();
    } catch (error) {
      if (!this.#failing) {
        logger.warn(this.#loaded ? 'Deployment discovery failed; the last list stays' : 'Deployment discovery failed; serving mapped models and deployment names until it answers', {
          resource: resourceId,
          reason: reasonOf(error, 500),
          fix: discoveryFix(error),
          retry_seconds: this.#options.refreshSeconds,
        });
      }
      this.#failing = true;
      return;
    }
    if (this.#failing) logger.info('Deployment discovery answers again', { resource: resourceId });
    this.#failing = false;
    const text = JSON.stringify(deployments);
    if (this.#loaded && text === this.#text) return;
    this.#loaded = true;
    this.#text = text;
    this.#deployments = deployments;
    this.#version++;
    logger.info('deployments discovered', {
      resource: resourceId,
      count: deployments.length,
      deployments: deployments.map(describeDeployment).join(', '),
    });
  }
}

/** A configuration source whose snapshots carry the discovered deployments in their model map. */
export function withDiscovery(source: ConfigSource, discovery: DeploymentDiscovery): ConfigSource {
  let base: ProxyConfig | undefined;
  let version = -1;
  let current: ProxyConfig | undefined;
  return {
    current(): ProxyConfig {
      const config = source.current();
      if (current === undefined || config !== base || discovery.version !== version) {
        base = config;
        version = discovery.version;
        current = { ...config, azure: { ...config.azure, modelMap: config.azure.modelMap.withDiscovered(discovery.deployments) } };
      }
      return current;
    },
    async close(): Promise<void> {
      await Promise.all([source.close(), discovery.close()]);
    },
  };
}
