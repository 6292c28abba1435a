/**
 * A local managed-identity endpoint as App Service and Functions provide it (`IDENTITY_ENDPOINT` and
 * `IDENTITY_HEADER`), which the real `@azure/identity` (through MSAL) calls:
 * `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=R[&client_id=C]` with `X-IDENTITY-HEADER`.
 * It issues tokens named after their resource and counts the requests, so tests can show caching.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const IDENTITY_HEADER = 'test-identity-header-value';

export interface TokenRequest {
  resource: string;
  clientId: string | null;
}

export class ManagedIdentityStandIn {
  readonly requests: TokenRequest[] = [];
  /** While set, token requests are refused (400, as for an identity that is not assigned). */
  refuse = false;
  url = '';
  readonly #server: Server;
  readonly #lifetimeSeconds: number;
  #issued = 0;

  private constructor(lifetimeSeconds: number) {
    this.#lifetimeSeconds = lifetimeSeconds;
    this.#server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://identity');
      const resource = url.searchParams.get('resource') ?? '';
      if (req.headers['x-identity-header'] !== IDENTITY_HEADER || url.searchParams.get('api-version') !== '2019-08-01' || resource === '') {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'unauthorized', error_description: 'The identity header is missing or wrong.' }));
        return;
      }
      this.requests.push({ resource, clientId: url.searchParams.get('client_id') });
      if (this.refuse) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ statusCode: 400, message: 'No managed identity is assigned to this app (stand-in refusal).' }));
        return;
      }
      this.#issued++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          access_token: ManagedIdentityStandIn.tokenFor(resource, this.#issued),
          expires_on: String(Math.floor(Date.now() / 1000) + this.#lifetimeSeconds),
          resource,
          token_type: 'Bearer',
          client_id: url.searchParams.get('client_id') ?? 'system-assigned-client-id',
        }),
      );
    });
  }

  static async start(lifetimeSeconds = 3600): Promise<ManagedIdentityStandIn> {
    const standIn = new ManagedIdentityStandIn(lifetimeSeconds);
    await new Promise<void>((resolve) => standIn.#server.listen(0, '127.0.0.1', resolve));
    standIn.url = `http://127.0.0.1:${(standIn.#server.address() as AddressInfo).port}/msi/token`;
    return standIn;
  }

  /** The token issued for a resource: `mi-token|{resource}|{n}`, which the other stand-ins check. */
  static tokenFor(resource: string, n: number): string {
    return `mi-token|${resource}|${n}`;
  }

  static isTokenFor(token: string, resource: string): boolean {
    return token.startsWith(`mi-token|${resource}|`);
  }

  /** The environment under which `@azure/identity` uses this endpoint (and nothing else). */
  environment(): Record<string, string> {
    return { IDENTITY_ENDPOINT: this.url, IDENTITY_HEADER };
  }

  count(resource: string): number {
    return this.requests.filter((r) => r.resource === resource).length;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
