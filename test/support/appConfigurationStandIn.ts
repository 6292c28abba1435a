/**
 * A local Azure App Configuration endpoint for the tests, spoken to by the real `@azure/app-configuration` SDK
 * (through the real provider). It serves the key-value list (`GET /kv`, with filters and page ETags, 304 on
 * `If-None-Match`) and single keys (`GET /kv/{key}`), writes them (`PUT /kv/{key}`, with `If-None-Match: *` to add
 * only), and authenticates every request as the service does:
 * the HMAC-SHA256 signature made with a connection string's secret is recomputed and compared, or a Bearer token
 * is checked against the ones accepted. Anything unsigned or badly signed is refused with 401.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface StoredSetting {
  key: string;
  label: string | null;
  value: string;
  content_type: string | null;
  etag: string;
  last_modified: string;
}

export interface AppConfigRequest {
  method: string;
  url: string;
  auth: 'hmac' | 'bearer' | 'none' | 'rejected';
  status: number;
}

export interface AppConfigurationStandInOptions {
  /** The connection string's Id and base64 Secret; HMAC-signed requests must match them. */
  credential?: { id: string; secret: string };
  /** Bearer tokens accepted (for the managed-identity path, which the SDK allows over https only). */
  acceptBearer?: (token: string) => boolean;
  /** Serve https with this key and certificate. */
  tls?: { key: string; cert: string };
}

export class AppConfigurationStandIn {
  readonly requests: AppConfigRequest[] = [];
  /** While set, every request fails: `503` answers Service Unavailable, `drop` closes the connection. */
  failure: '503' | 'drop' | undefined;
  /**
   * While true, an authenticated write is refused 403, as the service refuses a principal without a data-plane
   * role (App Configuration Data Owner), such as one whose role assignment has not taken effect yet.
   */
  forbidWrites = false;
  url = '';

  readonly #settings = new Map<string, StoredSetting>();
  readonly #options: AppConfigurationStandInOptions;
  readonly #server: Server;
  #version = 0;

  private constructor(options: AppConfigurationStandInOptions) {
    this.#options = options;
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => this.#serve(req, res, Buffer.concat(chunks)));
    };
    this.#server = options.tls === undefined ? createHttpServer(handler) : createHttpsServer(options.tls, handler);
  }

  static async start(options: AppConfigurationStandInOptions = {}): Promise<AppConfigurationStandIn> {
    const standIn = new AppConfigurationStandIn(options);
    await new Promise<void>((resolve) => standIn.#server.listen(0, '127.0.0.1', resolve));
    const { port } = standIn.#server.address() as AddressInfo;
    standIn.url = `${options.tls === undefined ? 'http' : 'https'}://${options.tls === undefined ? '127.0.0.1' : 'localhost'}:${port}`;
    return standIn;
  }

  /** A connection string for the SDK: `Endpoint=...;Id=...;Secret=...`. */
  connectionString(credential = this.#options.credential): string {
    if (credential === undefined) throw new Error('this stand-in has no HMAC credential');
    return `Endpoint=${this.url};Id=${credential.id};Secret=${credential.secret}`;
  }

  set(key: string, value: string, options: { label?: string; contentType?: string } = {}): void {
    const label = options.label ?? null;
    this.#version++;
    this.#settings.set(`${key}\u0000${label ?? ''}`, {
      key,
      label,
      value,
      content_type: options.contentType ?? null,
      etag: createHash('sha256').update(`${key}|${label}|${value}|${this.#version}`).digest('hex').slice(0, 32),
      last_modified: new Date().toISOString(),
    });
  }

  get(key: string, label?: string): StoredSetting | undefined {
    return this.#settings.get(`${key}\u0000${label ?? ''}`);
  }

  delete(key: string, label?: string): void {
    this.#version++;
    this.#settings.delete(`${key}\u0000${label ?? ''}`);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #authenticate(req: IncomingMessage, body: Buffer): AppConfigRequest['auth'] {
    const authorization = req.headers.authorization ?? '';
    const bearer = /^Bearer (.+)$/.exec(authorization)?.[1];
    if (bearer !== undefined) return this.#options.acceptBearer?.(bearer) === true ? 'bearer' : 'rejected';
    const hmac = /^HMAC-SHA256 Credential=([^&]+)&SignedHeaders=([^&]+)&Signature=(.+)$/.exec(authorization);
    const credential = this.#options.credential;
    if (hmac === null || credential === undefined) return authorization === '' ? 'none' : 'rejected';
    const [, id, signedHeaders, signature] = hmac;
    const date = req.headers['x-ms-date'];
    const contentHash = req.headers['x-ms-content-sha256'];
    if (id !== credential.id || signedHeaders !== 'x-ms-date;host;x-ms-content-sha256' || typeof date !== 'string' || typeof contentHash !== 'string') {
      return 'rejected';
    }
    // The body must be the one that was signed, and the signature recent.
    if (createHash('sha256').update(body).digest('base64') !== contentHash) return 'rejected';
    if (Math.abs(Date.now() - Date.parse(date)) > 15 * 60_000) return 'rejected';
    const toSign = `${req.method}\n${req.url}\n${date};${req.headers.host};${contentHash}`;
    const expected = createHmac('sha256', Buffer.from(credential.secret, 'base64')).update(toSign).digest();
    const given = Buffer.from(signature ?? '', 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected) ? 'hmac' : 'rejected';
  }

  #serve(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const record = (status: number, auth: AppConfigRequest['auth']): void => {
      this.requests.push({ method: req.method ?? '', url: req.url ?? '', auth, status });
    };
    if (this.failure === 'drop') {
      record(0, 'none');
      req.socket.destroy();
      return;
    }
    if (this.failure === '503') {
      record(503, 'none');
      res.writeHead(503, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ type: 'https://azconfig.io/errors/service-unavailable', title: 'Service Unavailable', status: 503 }));
      return;
    }
    const auth = this.#authenticate(req, body);
    if (auth === 'none' || auth === 'rejected') {
      record(401, auth);
      res.writeHead(401, { 'content-type': 'application/problem+json', 'www-authenticate': 'HMAC-SHA256, Bearer' });
      res.end(JSON.stringify({ type: 'https://azconfig.io/errors/invalid-credentials', title: 'Unauthorized', status: 401 }));
      return;
    }
    const url = new URL(req.url ?? '/', 'http://store');
    const labelFilter = url.searchParams.get('label');
    const labelMatches = (label: string | null): boolean =>
      labelFilter === null || labelFilter === '\0' ? label === null : labelFilter === '*' || labelFilter === label;

    if (url.pathname === '/kv' && (req.method === 'GET' || req.method === 'HEAD')) {
      const keyFilter = url.searchParams.get('key') ?? '*';
      const keyMatches = (key: string): boolean => (keyFilter.endsWith('*') ? key.startsWith(keyFilter.slice(0, -1)) : key === keyFilter);
      const items = [...this.#settings.values()].filter((s) => keyMatches(s.key) && labelMatches(s.label)).sort((a, b) => a.key.localeCompare(b.key));
      const pageEtag = `"${createHash('sha256').update(items.map((i) => i.etag).join(',')).digest('hex').slice(0, 32)}"`;
      if (req.headers['if-none-match'] === pageEtag) {
        record(304, auth);
        res.writeHead(304, { etag: pageEtag });
        res.end();
        return;
      }
      record(200, auth);
      res.writeHead(200, { 'content-type': 'application/vnd.microsoft.appconfig.kvset+json; charset=utf-8', etag: pageEtag });
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify({ items: items.map((s) => ({ ...s, tags: {}, locked: false })) }));
      return;
    }
    const single = /^\/kv\/(.+)$/.exec(url.pathname);
    if (single?.[1] !== undefined && req.method === 'PUT') {
      const problem = (status: number, title: string): void => {
        record(status, auth);
        res.writeHead(status, { 'content-type': 'application/problem+json' });
        res.end(JSON.stringify({ title, status }));
      };
      if (this.forbidWrites) return problem(403, 'Forbidden');
      const key = decodeURIComponent(single[1]);
      const label = url.searchParams.get('label') || undefined;
      const existing = this.#settings.get(`${key}\u0000${label ?? ''}`);
      if (req.headers['if-none-match'] === '*' && existing !== undefined) return problem(412, 'Precondition Failed');
      if (req.headers['if-match'] !== undefined && req.headers['if-match'] !== `"${existing?.etag}"`) return problem(412, 'Precondition Failed');
      const written = JSON.parse(body.toString() || '{}') as { value?: string; content_type?: string };
      this.set(key, written.value ?? '', { ...(label !== undefined && { label }), ...(written.content_type && { contentType: written.content_type }) });
      const setting = this.#settings.get(`${key}\u0000${label ?? ''}`)!;
      record(200, auth);
      res.writeHead(200, { 'content-type': 'application/vnd.microsoft.appconfig.kv+json; charset=utf-8', etag: `"${setting.etag}"` });
      res.end(JSON.stringify({ ...setting, tags: {}, locked: false }));
      return;
    }
    if (single?.[1] !== undefined && req.method === 'GET') {
      const setting = [...this.#settings.values()].find((s) => s.key === decodeURIComponent(single[1] ?? '') && labelMatches(s.label));
      if (setting === undefined) {
        record(404, auth);
        res.writeHead(404, { 'content-type': 'application/problem+json' });
        res.end(JSON.stringify({ type: 'https://azconfig.io/errors/key-value-not-found', title: 'Not Found', status: 404 }));
        return;
      }
      if (req.headers['if-none-match'] === `"${setting.etag}"`) {
        record(304, auth);
        res.writeHead(304, { etag: `"${setting.etag}"` });
        res.end();
        return;
      }
      record(200, auth);
      res.writeHead(200, { 'content-type': 'application/vnd.microsoft.appconfig.kv+json; charset=utf-8', etag: `"${setting.etag}"` });
      res.end(JSON.stringify({ ...setting, tags: {}, locked: false }));
      return;
    }
    record(404, auth);
    res.writeHead(404, { 'content-type': 'application/problem+json' });
    res.end(JSON.stringify({ title: 'Not Found', status: 404 }));
  }
}
