/**
 * An Azure OpenAI account's deployments as Resource Manager lists them, and the small interface a lister
 * implements: Resource Manager itself (`resourceManager.ts`), or `MemoryDeployments`, its in-memory twin.
 */

export interface DiscoveredDeployment {
  /** The deployment's name: what Azure's URLs (or the v1 API's `model`) name. */
  name: string;
  /** The model it runs as Azure names it (`gpt-4o`, `gpt-35-turbo`), and that model's version (`2024-08-06`). */
  model: string;
  modelVersion?: string;
  /** Who publishes the model: `OpenAI`, or another (Microsoft, Meta, DeepSeek...) on an AI Services account. */
  format: string;
}

/** A deployment as messages name it: `chat-prod (gpt-4o 2024-08-06)`. */
export function describeDeployment(deployment: DiscoveredDeployment): string {
  return `${deployment.name} (${deployment.model}${deployment.modelVersion === undefined ? '' : ` ${deployment.modelVersion}`})`;
}

export interface DeploymentLister {
  /** Every deployment that can serve now (provisioned), in Resource Manager's order. */
  list(signal?: AbortSignal): Promise<DiscoveredDeployment[]>;
}

/** The in-memory twin: deployments set by hand, or a failure every `list` throws until cleared. */
export class MemoryDeployments implements DeploymentLister {
  #deployments: DiscoveredDeployment[];
  failure: Error | undefined;

  constructor(deployments: DiscoveredDeployment[] = []) {
    this.#deployments = deployments;
  }

  set(deployments: DiscoveredDeployment[]): void {
    this.#deployments = deployments;
  }

  async list(): Promise<DiscoveredDeployment[]> {
    if (this.failure !== undefined) throw this.failure;
    return [...this.#deployments];
  }
}
