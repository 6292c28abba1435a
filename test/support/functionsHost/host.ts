/**
 * A stand-in for the Azure Functions host (Azure/azure-functions-host with the HTTP extension of
 * Azure/azure-webjobs-sdk-extensions) in front of the stand-in worker, for an app that enables HTTP streams.
 * What it reproduces, each from the host's source:
 *  - indexing: the worker loads the app and reports its functions; an app that fails to load has none, and every
 *    request is then a plain 404;
 *  - routing: functions ordered by name, first matching template wins (see routes.ts), `routePrefix` from
 *    host.json, method constraints; no match is a 404 with no body;
 *  - the HTTP trigger binding: a body with a Content-Length is read whole before the function is invoked
 *    (`HttpTriggerAttributeBindingProvider.IsRequestPayloadReadable`), a chunked one is not; the trigger metadata
 *    holds the route parameters, `Query`, `Headers`, and the top-level properties of a JSON body
 *    (`GetRequestBindingData`, `Utility.ApplyBindingData`), in one case-insensitive dictionary;
 *  - forwarding (`DefaultHttpProxyService`, YARP's `IHttpForwarder`): the raw request goes to the worker's
 *    `HttpUri` with `x-ms-invocation-id`, `x-forwarded-host`, `x-forwarded-proto` and `x-forwarded-for`, before the
 *    InvocationRequest is sent; the answer is streamed back as it comes; the forward is cancelled when the
 *    client disconnects; with no activity for `activityTimeoutMs` (240 s, `ForwarderRequestConfig`) it is given
 *    up: a 504 if nothing was sent yet, else the client's connection is cut; a worker response that breaks off
 *    cuts the client's connection;
 *  - logs: each `RpcLog`, with its invocation id and category, as the host receives it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { AppLoad, HostMessage, RpcFunctionMetadata, RpcLogLevel, RpcTypedData, WorkerMessage } from './protocol';
import { RouteTable, type HttpFunctionRoute } from './routes';

export interface FunctionsHostOptions {
  /** The function app's folder: its package.json names the entry points, its host.json the route prefix. */
  appDirectory?: string;
  /** The worker's environment: the app settings. */
  env: Record<string, string | undefined>;
  /** YARP's ActivityTimeout for the forwarded request: 240 s on Azure. */
  activityTimeoutMs?: number;
  port?: number;
  /** Keep every invocation and log in `invocations` and `logs` (true); a benchmark's millions are not kept. */
  record?: boolean;
}

export interface InvocationRecord {
  invocationId: string;
  functionName: string;
  status: 'running' | 'success' | 'failure';
  exception?: string;
}

export interface HostLog {
  invocationId?: string;
  /** `<function>.Invocation` for an invocation's log. */
  category?: string;
  level: RpcLogLevel;
  logCategory: 'user' | 'system';
  message: string;
}

export interface WorkerSample {
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  cpuMicros: number;
  /** The files in the worker's require cache. */
  modules: string[];
}

/** Request headers that are not forwarded (hop-by-hop, RFC 9110 7.6.1), and response headers not copied back. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authenticate', 'proxy-authorization']);

function findRoot(from: string): string {
  let folder = from;
  while (!existsSync(join(folder, 'package.json'))) {
    const parent = dirname(folder);
    if (parent === folder) throw new Error(`No package.json above ${from}`);
    folder = parent;
  }
  return folder;
}

const ROOT = findRoot(__dirname);
const WORKER_ENTRY = join(ROOT, 'dist', 'test', 'support', 'functionsHost', 'worker.js');

/** A .NET `Dictionary` with `StringComparer.OrdinalIgnoreCase`: the first spelling of a key is the one kept. */
class BindingData {
  readonly #entries = new Map<string, { key: string; value: RpcTypedData }>();

  set(key: string, value: RpcTypedData): void {
    const existing = this.#entries.get(key.toLowerCase());
    this.#entries.set(key.toLowerCase(), { key: existing?.key ?? key, value });
  }

  has(key: string): boolean {
    return this.#entries.has(key.toLowerCase());
  }

  toRecord(): Record<string, RpcTypedData> {
    return Object.fromEntries([...this.#entries.values()].map(({ key, value }) => [key, value]));
  }
}

/** `Utility.ApplyBindingData`: a JSON object body's top-level properties, but arrays and nulls. */
function applyBodyBindingData(body: Buffer, data: BindingData): void {
  const text = body.toString('utf8').trim();
  if (!text.startsWith('{') || !text.endsWith('}')) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return;
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (value === null || Array.isArray(value)) continue;
    if (typeof value === 'object') data.set(key, { json: JSON.stringify(value) });
    // Json.NET's string conversion of a JValue: booleans are True and False.
    else if (typeof value === 'boolean') data.set(key, { string: value ? 'True' : 'False' });
    else if (typeof value === 'string' || typeof value === 'number') data.set(key, { string: String(value) });
  }
}

function readWhole(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
    req.once('close', () => {
      if (!req.readableEnded) reject(new Error('The client closed the request before its body ended.'));
    });
  });
}

export class FunctionsHost {
  readonly invocations: InvocationRecord[] = [];
  readonly logs: HostLog[] = [];
  /** What the worker indexed; empty when the app failed to load. */
  functions: RpcFunctionMetadata[] = [];
  /** What loading the app cost the worker. */
  appLoad: AppLoad = { ms: 0, sinceProcessStartMs: 0, modules: 0, rssBytes: 0 };
  /** Why the app failed to load, as the worker reported it. */
  loadError: string | undefined;
  url = '';

  readonly #worker: ChildProcess;
  readonly #server: Server;
  readonly #agent = new Agent({ keepAlive: true });
  readonly #activityTimeoutMs: number;
  readonly #record: boolean;
  readonly #routePrefix: string;
  readonly #waiting = new Map<string, (message: WorkerMessage) => void>();
  readonly #running = new Map<string, InvocationRecord>();
  #routes = new RouteTable([], '');
  #httpUri: URL | undefined;
  #workerOutput = '';
  #samples = 0;

  private constructor(options: FunctionsHostOptions, appDirectory: string) {
    this.#activityTimeoutMs = options.activityTimeoutMs ?? 240_000;
    this.#record = options.record ?? true;
    const hostJson = JSON.parse(readFileSync(join(appDirectory, 'host.json'), 'utf8')) as { extensions?: { http?: { routePrefix?: string } } };
    this.#routePrefix = hostJson.extensions?.http?.routePrefix ?? 'api';
    if (!existsSync(WORKER_ENTRY)) throw new Error(`${WORKER_ENTRY} is missing: build the stand-in first (npm test does)`);
    this.#worker = fork(WORKER_ENTRY, [], {
      cwd: appDirectory,
      env: { ...options.env, FUNCTIONS_WORKER_RUNTIME: 'node', FUNCTIONS_EXTENSION_VERSION: '~4', AzureWebJobsScriptRoot: appDirectory },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.#worker.stdout?.on('data', (chunk: Buffer) => (this.#workerOutput += chunk.toString()));
    this.#worker.stderr?.on('data', (chunk: Buffer) => (this.#workerOutput += chunk.toString()));
    this.#worker.on('message', (message: WorkerMessage) => this.#receive(message));
    this.#server = createServer((req, res) => {
      this.#serve(req, res).catch(() => res.destroy());
    });
  }

  static async start(options: FunctionsHostOptions): Promise<FunctionsHost> {
    const appDirectory = options.appDirectory ?? ROOT;
    const host = new FunctionsHost(options, appDirectory);
    const init = await host.#request({ kind: 'workerInit', functionAppDirectory: appDirectory, hostVersion: '4.1040.0' }, 'workerInit', 30_000);
    if (init.kind !== 'workerInitResponse') throw new Error('unexpected answer to workerInit');
    host.loadError = init.error;
    host.functions = init.functions;
    host.appLoad = init.appLoad;
    const httpUri = init.capabilities.HttpUri;
    if (init.error === undefined) {
      if (httpUri === undefined) throw new Error('The app did not enable HTTP streams: the stand-in host only forwards raw requests (HttpUri).');
      host.#httpUri = new URL(httpUri);
    }
    host.#routes = new RouteTable(init.functions.flatMap(httpRoute), host.#routePrefix);
    await new Promise<void>((resolve, reject) => {
      host.#server.once('error', reject);
      host.#server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    host.url = `http://127.0.0.1:${(host.#server.address() as AddressInfo).port}`;
    return host;
  }

  /** The functions in the order the host tries their routes. */
  get routeOrder(): readonly HttpFunctionRoute[] {
    return this.#routes.order;
  }

  get workerPid(): number | undefined {
    return this.#worker.pid;
  }

  workerOutput(): string {
    return this.#workerOutput;
  }

  /** The worker process's memory and CPU time now. */
  async sampleWorker(): Promise<WorkerSample> {
    const id = ++this.#samples;
    const answer = await this.#request({ kind: 'sample', id }, `sample:${id}`, 5000);
    if (answer.kind !== 'sampleResponse') throw new Error('unexpected answer to sample');
    return answer;
  }

  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.#worker.exitCode !== null) resolve();
      else this.#worker.once('exit', () => resolve());
    });
    if (this.#worker.connected) this.#worker.send({ kind: 'terminate' } satisfies HostMessage);
    const timer = setTimeout(() => this.#worker.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    this.#agent.destroy();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #request(message: HostMessage, key: string, timeoutMs: number): Promise<WorkerMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(key);
        reject(new Error(`The worker did not answer ${message.kind} within ${timeoutMs} ms:\n${this.#workerOutput}`));
      }, timeoutMs);
      this.#waiting.set(key, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      this.#worker.send(message);
    });
  }

  #receive(message: WorkerMessage): void {
    switch (message.kind) {
      case 'workerInitResponse':
        this.#waiting.get('workerInit')?.(message);
        return;
      case 'sampleResponse':
        this.#waiting.get(`sample:${message.id}`)?.(message);
        return;
      case 'rpcLog': {
        const { kind: _kind, ...log } = message;
        if (this.#record) this.logs.push(log);
        return;
      }
      case 'invocationResponse': {
        const record = this.#running.get(message.invocationId);
        this.#running.delete(message.invocationId);
        if (record !== undefined) {
          record.status = message.status;
          if (message.exception !== undefined) record.exception = message.exception;
        }
        return;
      }
    }
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://host');
    const match = this.#routes.match(req.method ?? 'GET', url.pathname);
    if (match === undefined || this.#httpUri === undefined) {
      res.writeHead(404, { 'content-length': '0' }).end();
      return;
    }
    const invocationId = randomUUID();
    const record: InvocationRecord = { invocationId, functionName: match.route.functionName, status: 'running' };
    this.#running.set(invocationId, record);
    if (this.#record) this.invocations.push(record);

    // The HTTP trigger binding reads a body with a length before the function runs; a chunked one streams.
    const length = Number(req.headers['content-length'] ?? 0);
    let body: Buffer | undefined;
    if (length > 0) {
      try {
        body = await readWhole(req);
      } catch {
        record.status = 'failure';
        this.#running.delete(invocationId);
        return;
      }
    }

    const data = new BindingData();
    if (body !== undefined) applyBodyBindingData(body, data);
    for (const [name, value] of url.searchParams) data.set(name, { string: value });
    for (const [name, value] of Object.entries(match.params)) data.set(name, { string: value });
    if (!data.has('Query')) data.set('Query', { json: JSON.stringify(Object.fromEntries(url.searchParams)) });
    if (!data.has('Headers')) data.set('Headers', { json: JSON.stringify(joinedHeaders(req.rawHeaders)) });

    this.#forward(req, res, invocationId, body);
    this.#worker.send({
      kind: 'invocation',
      invocationId,
      functionId: match.route.functionId,
      inputData: [{ name: match.route.triggerName, data: { http: {} } }],
      triggerMetadata: data.toRecord(),
    } satisfies HostMessage);
  }

  /** YARP's forward of the client's request to the worker's HTTP proxy, and of its answer back. */
  #forward(req: IncomingMessage, res: ServerResponse, invocationId: string, body: Buffer | undefined): void {
    const httpUri = this.#httpUri as URL;
    const headers: Record<string, string | string[]> = {};
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      const name = (req.rawHeaders[i] as string).toLowerCase();
      if (HOP_BY_HOP.has(name) || name === 'host') continue;
      const value = req.rawHeaders[i + 1] as string;
      const existing = headers[name];
      headers[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
    }
    if (body !== undefined) headers['content-length'] = String(body.length);
    headers['x-ms-invocation-id'] = invocationId;
    headers['x-forwarded-host'] = req.headers.host ?? '127.0.0.1';
    headers['x-forwarded-proto'] = 'http';
    headers['x-forwarded-for'] = req.socket.remoteAddress ?? '127.0.0.1';

    const forwarded = httpRequest({
      hostname: httpUri.hostname,
      port: httpUri.port,
      path: req.url,
      method: req.method,
      headers,
      agent: this.#agent,
    });
    let answered = false;
    const cut = (): void => {
      forwarded.destroy();
      res.destroy();
    };
    forwarded.setTimeout(this.#activityTimeoutMs, () => {
      if (answered || res.headersSent) cut();
      else {
        answered = true;
        forwarded.destroy();
        res.writeHead(504, { 'content-length': '0' }).end();
      }
    });
    forwarded.on('error', () => {
      if (answered || res.headersSent) cut();
      else {
        answered = true;
        res.writeHead(502, { 'content-length': '0' }).end();
      }
    });
    // The client went away: the forward is cancelled, which closes the worker's side of it.
    res.once('close', () => {
      if (!res.writableFinished) forwarded.destroy();
    });
    forwarded.on('response', (answer) => {
      answered = true;
      const copied: string[] = [];
      for (let i = 0; i + 1 < answer.rawHeaders.length; i += 2) {
        if (!HOP_BY_HOP.has((answer.rawHeaders[i] as string).toLowerCase())) copied.push(answer.rawHeaders[i] as string, answer.rawHeaders[i + 1] as string);
      }
      res.writeHead(answer.statusCode ?? 502, copied);
      // A response that breaks off (the worker reset it) cuts the client's connection; one that ends, ends.
      answer.on('aborted', cut);
      answer.on('error', cut);
      answer.pipe(res);
    });
    if (body !== undefined) forwarded.end(body);
    else if (req.method === 'GET' || req.method === 'HEAD') forwarded.end();
    else req.pipe(forwarded);
  }
}

function joinedHeaders(raw: readonly string[]): Record<string, string> {
  const joined: Record<string, string> = {};
  const spelling = new Map<string, string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const key = spelling.get(name.toLowerCase()) ?? name;
    spelling.set(name.toLowerCase(), key);
    joined[key] = joined[key] === undefined ? (raw[i + 1] as string) : `${joined[key]},${raw[i + 1] as string}`;
  }
  return joined;
}

/** The route an HTTP-triggered function registers (its name when it has none), with its methods. */
function httpRoute(metadata: RpcFunctionMetadata): HttpFunctionRoute[] {
  const [triggerName, trigger] = Object.entries(metadata.bindings).find(([, binding]) => binding.type === 'httpTrigger') ?? [];
  if (triggerName === undefined || trigger === undefined) return [];
  if (trigger.authLevel !== undefined && trigger.authLevel !== 'anonymous') {
    throw new Error(`${metadata.name}: the stand-in host serves anonymous functions only`);
  }
  const template = typeof trigger.route === 'string' && trigger.route !== '' ? trigger.route : metadata.name;
  const methods = Array.isArray(trigger.methods) ? trigger.methods.map((method) => String(method).toUpperCase()) : null;
  return [{ functionId: metadata.functionId, functionName: metadata.name, triggerName, template, methods }];
}
