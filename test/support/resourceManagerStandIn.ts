/**
 * A local Azure Resource Manager for the tests, serving what the proxy asks of the real one: an account's
 * deployments, `GET {resourceId}/deployments?api-version=V`, in pages linked by an absolute `nextLink` (as Resource
 * Manager pages with `$skipToken`), in its wire format (`value`, `properties.model`, `provisioningState`). It checks
 * the Bearer token as Resource Manager does (only tokens for its audience), answers 403 AuthorizationFailed for a
 * principal without the read, 404 ResourceNotFound for an account it does not have, and 400 without an api-version.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ArmDeployment {
  id: string;
  name: string;
  type: 'Microsoft.CognitiveServices/accounts/deployments';
  sku: { name: string; capacity: number };
  properties: {
    model: { format: string; name: string; version?: string };
    provisioningState: string;
    capabilities: Record<string, string>;
  };
}

export interface ResourceManagerStandInOptions {
  /** Which Bearer tokens it accepts; any non-empty one by default. */
  acceptBearer?: (token: string) => boolean;
  /** Deployments per page. */
  pageSize?: number;
}

export interface ArmRequest {
  path: string;
  query: Record<string, string>;
  status: number;
}

export class ResourceManagerStandIn {
  readonly requests: ArmRequest[] = [];
  /** While true, every read is refused 403, as for a principal whose role has not been assigned (or applied). */
  forbid = false;
  /** Where nextLink points, to show that the proxy does not follow one off Resource Manager. */
  nextLinkOrigin: string | undefined;
  url = '';
  readonly #accounts = new Map<string, ArmDeployment[]>();
  readonly #server: Server;
  readonly #options: ResourceManagerStandInOptions;

  private constructor(options: ResourceManagerStandInOptions) {
    this.#options = options;
    this.#server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://arm');
      const answer = (status: number, body: unknown): void => {
        this.requests.push({ path: url.pathname, query: Object.fromEntries(url.searchParams), status });
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-ms-request-id': `arm-${this.requests.length}` });
        res.end(JSON.stringify(body));
      };
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (token === undefined || !(this.#options.acceptBearer ?? (() => true))(token)) {
        answer(401, { error: { code: 'InvalidAuthenticationToken', message: 'The access token is invalid.' } });
        return;
      }
      if (url.searchParams.get('api-version') === null) {
        answer(400, { error: { code: 'MissingApiVersionParameter', message: "The api-version query parameter (?api-version=) is required for all requests." } });
        return;
      }
      const match = /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.CognitiveServices\/accounts\/[^/]+)\/deployments$/i.exec(url.pathname);
      if (req.method !== 'GET' || match === null) {
        answer(404, { error: { code: 'NotFound', message: `No route for ${req.method} ${url.pathname}` } });
        return;
      }
      const id = match[1]!;
      if (this.forbid) {
        answer(403, {
          error: {
            code: 'AuthorizationFailed',
            message: `The client 'stand-in' with object id '00000000-0000-0000-0000-000000000001' does not have authorization to perform action 'Microsoft.CognitiveServices/accounts/deployments/read' over scope '${id}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
          },
        });
        return;
      }
      const deployments = this.#accounts.get(id.toLowerCase());
      if (deployments === undefined) {
        const name = id.split('/').pop();
        answer(404, { error: { code: 'ResourceNotFound', message: `The Resource 'Microsoft.CognitiveServices/accounts/${name}' under resource group '${id.split('/')[4]}' was not found.` } });
        return;
      }
      const size = this.#options.pageSize ?? 100;
      const skip = Number(url.searchParams.get('$skipToken') ?? '0');
      const page = deployments.slice(skip, skip + size);
      const more = skip + size < deployments.length;
      const next = new URL(`${id}/deployments`, this.nextLinkOrigin ?? this.url);
      next.searchParams.set('api-version', url.searchParams.get('api-version')!);
      next.searchParams.set('$skipToken', String(skip + size));
      answer(200, { value: page, ...(more && { nextLink: next.href }) });
    });
  }

  static async start(options: ResourceManagerStandInOptions = {}): Promise<ResourceManagerStandIn> {
    const standIn = new ResourceManagerStandIn(options);
    await new Promise<void>((resolve) => standIn.#server.listen(0, '127.0.0.1', resolve));
    standIn.url = `http://127.0.0.1:${(standIn.#server.address() as AddressInfo).port}`;
    return standIn;
  }

  /** An account's resource id in a test subscription. */
  static accountId(name: string, group = 'rg-openai'): string {
    return `/subscriptions/00000000-0000-0000-0000-00000000beef/resourceGroups/${group}/providers/Microsoft.CognitiveServices/accounts/${name}`;
  }

  /** One deployment as Resource Manager describes it. */
  static deployment(resourceId: string, name: string, model: string, version?: string, options: { state?: string; format?: string } = {}): ArmDeployment {
    return {
      id: `${resourceId}/deployments/${name}`,
      name,
      type: 'Microsoft.CognitiveServices/accounts/deployments',
      sku: { name: 'GlobalStandard', capacity: 50 },
      properties: {
        model: { format: options.format ?? 'OpenAI', name: model, ...(version !== undefined && { version }) },
        provisioningState: options.state ?? 'Succeeded',
        capabilities: { chatCompletion: 'true' },
      },
    };
  }

  setDeployments(resourceId: string, deployments: ArmDeployment[]): void {
    this.#accounts.set(resourceId.toLowerCase(), deployments);
  }

  deploymentReads(): number {
    return this.requests.filter((r) => r.path.endsWith('/deployments')).length;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
