/**
 * The account's deployments from Azure Resource Manager:
 * `GET {arm}{resourceId}/deployments?api-version=2024-10-01` with the app's Entra token, page after page
 * (`nextLink`). One GET is all the proxy needs of Resource Manager, so it is a plain fetch here rather than the
 * management SDK (2.8 MB of models for every Cognitive Services resource type, on every cold start).
 */
import { z } from 'zod';
import { isDeploymentName } from '../config/modelMap';
import type { DeploymentLister, DiscoveredDeployment } from './deployments';

/** A stable Cognitive Services management version that every cloud serves. */
export const RESOURCE_MANAGER_API_VERSION = '2024-10-01';

/** Resource Manager pages by 100 or so; an account has at most a few hundred deployments. */
const MAX_PAGES = 50;

export interface ResourceManagerOptions {
  /** Resource Manager's base URL, e.g. https://management.azure.com (no trailing slash). */
  endpoint: string;
  /** The account's resource id. */
  resourceId: string;
  /** A bearer token for Resource Manager (its scope: `resourceManagerScope(endpoint)`). */
  token: () => Promise<string>;
  /** One page may take this long. */
  timeoutMs?: number;
}

/** Resource Manager's answer was not a list of deployments: its status and error code say why. */
export class ResourceManagerError extends Error {
  override readonly name = 'ResourceManagerError';
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

const armError = z.object({ error: z.object({ code: z.string().optional(), message: z.string().optional() }) });
const armPage = z.object({ value: z.array(z.unknown()), nextLink: z.string().nullish() });
const armDeployment = z.object({
  name: z.string(),
  properties: z.object({
    model: z.object({ format: z.string().optional(), name: z.string(), version: z.string().optional() }),
    provisioningState: z.string().optional(),
  }),
});

/** A deployment that can serve now, or undefined for one still being made, failed, or of another shape. */
function deploymentOf(entry: unknown): DiscoveredDeployment | undefined {
  const parsed = armDeployment.safeParse(entry);
  if (!parsed.success) return undefined;
  const { name, properties } = parsed.data;
  // Only these states serve; a deployment being created, deleted or that failed would answer 404.
  if (properties.provisioningState !== undefined && properties.provisioningState !== 'Succeeded' && properties.provisioningState !== 'Updating') return undefined;
  if (!isDeploymentName(name)) return undefined;
  const { model } = properties;
  return { name, model: model.name, ...(model.version !== undefined && model.version !== '' && { modelVersion: model.version }), format: model.format ?? 'OpenAI' };
}

async function readPage(url: string, token: string, signal: AbortSignal): Promise<z.output<typeof armPage>> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, signal });
  } catch (error) {
    const cause = error instanceof Error ? (error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message) : String(error);
    throw new ResourceManagerError(`Resource Manager did not answer at ${new URL(url).origin}: ${cause}`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = armError.safeParse(body);
    const code = error.success ? error.data.error.code : undefined;
    const message = error.success ? (error.data.error.message ?? '') : text.slice(0, 200);
    throw new ResourceManagerError(`Resource Manager answered ${response.status}${code === undefined ? '' : ` ${code}`}: ${message.slice(0, 400)}`, response.status, code);
  }
  const page = armPage.safeParse(body);
  if (!page.success) throw new ResourceManagerError('Resource Manager answered with something other than a list of deployments', response.status);
  return page.data;
}

export function resourceManagerDeployments(options: ResourceManagerOptions): DeploymentLister {
  const origin = new URL(options.endpoint).origin;
  const first = `${origin}${options.resourceId}/deployments?api-version=${RESOURCE_MANAGER_API_VERSION}`;
  return {
    async list(signal?: AbortSignal): Promise<DiscoveredDeployment[]> {
      const token = await options.token();
      const timeout = AbortSignal.timeout(options.timeoutMs ?? 15_000);
      const deployments: DiscoveredDeployment[] = [];
      let url: string | undefined = first;
      for (let pages = 0; url !== undefined; pages++) {
        if (pages === MAX_PAGES) throw new ResourceManagerError(`Resource Manager's list of deployments goes on past ${MAX_PAGES} pages`);
        const page = await readPage(url, token, signal === undefined ? timeout : AbortSignal.any([signal, timeout]));
        for (const entry of page.value) {
          const deployment = deploymentOf(entry);
          if (deployment !== undefined) deployments.push(deployment);
        }
        // The token goes wherever the next page is: only to Resource Manager itself.
        const next = page.nextLink ?? undefined;
        if (next !== undefined && new URL(next, origin).origin !== origin) throw new ResourceManagerError(`Resource Manager's next page is on another host (${new URL(next, origin).origin}); not followed`);
        url = next === undefined ? undefined : new URL(next, origin).href;
      }
      return deployments;
    },
  };
}

/** What to do about a failed listing, in one line. */
export function discoveryFix(error: unknown): string {
  if (error instanceof ResourceManagerError) {
    if (error.status === 401 || error.status === 403) {
      return "grant the app's identity a role with Microsoft.CognitiveServices/accounts/deployments/read on the account: Cognitive Services OpenAI User or Contributor has it (a new assignment takes minutes to apply)";
    }
    if (error.status === 404) return 'check AZURE_OPENAI_RESOURCE_ID: the account (its subscription, resource group and name) as the portal shows it under Properties, Resource ID';
    if (error.status === undefined) return 'check AZURE_RESOURCE_MANAGER_ENDPOINT (the endpoint\'s cloud\'s by default) and the network';
    return 'Resource Manager failed; the proxy keeps trying';
  }
  return "give the app a managed identity (AZURE_CLIENT_ID for a user-assigned one), or sign in with `az login` on a workstation";
}
