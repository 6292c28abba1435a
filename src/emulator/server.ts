/**
 * A local Azure OpenAI emulator that speaks Azure's wire format, in both URL shapes:
 *  - dated: `/openai/deployments/{deployment}/{operation}?api-version=V` and `/openai/{resource}?api-version=V`,
 *    with the api-version required and checked (previews for what only previews have);
 *  - v1: `/openai/v1/{path}`, the deployment named by the body's `model`, api-version absent, `v1` or `preview`.
 * `api-key` or Bearer auth, `prompt_filter_results`, the empty-choices first stream chunk, Azure's error bodies
 * (DeploymentNotFound, OperationNotSupported, content_filter), and 429 with `retry-after`/`retry-after-ms` when a
 * deployment's request quota is used up.
 *
 * `npm start` uses it when no AZURE_OPENAI_ENDPOINT is set, and the tests use it as their upstream.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isObject } from './content';
import { chat, completions, embeddings, type InferenceSettings } from './inference';
import { imageEdits, imageGenerations, speech, transcribe, type ImageStore } from './mediaOps';
import { azureError, deploymentNotFound, EmulatorHttpError, json, resourceNotFound, validationError, type Reply, type SseEvent } from './reply';
import { EmulatorResources, type ParsedBody } from './resources';

export type DeploymentKind = 'chat' | 'completions' | 'embeddings' | 'images' | 'transcription' | 'speech' | 'realtime';

export interface EmulatorDeployment {
  name: string;
  /** The model behind the deployment, reported in responses as Azure does. */
  model: string;
  kind: DeploymentKind;
  /** Embedding size; embeddings deployments only. */
  dimensions?: number;
  /** The deployment's request quota: at most `requests` per `windowMs`, then 429. */
  rateLimit?: { requests: number; windowMs: number };
}

export interface EmulatorOptions {
  host?: string;
  port?: number;
  /** Keys accepted in `api-key` (and, as the v1 API does, as a Bearer token). */
  apiKeys?: readonly string[];
  /** Entra tokens accepted as `Authorization: Bearer`. */
  bearerTokens?: readonly string[];
  /** Accepts Entra tokens by rule (a test's managed-identity stand-in issues them). */
  acceptBearer?: (token: string) => boolean;
  deployments?: readonly EmulatorDeployment[];
  /** Fine-tuned models the resource has, listed by `GET /openai/models`. */
  fineTunedModels?: readonly string[];
  /** Delay between stream chunks, ms. */
  chunkDelayMs?: number;
  /** Prompt phrases that the emulated content filter blocks with Azure's 400 content_filter error. */
  blockedTerms?: readonly string[];
  /** Add the asynchronous filter's delta-less chunks to chat streams. */
  asyncFilterChunks?: boolean;
  /**
   * Fail this share of requests at random (0 to 1), as a troubled backend does: alternately Azure's 500 and a
   * connection reset. Seeded, so a run is repeatable. Settable later through `faults`.
   */
  faults?: Faults;
}

export interface Faults {
  rate: number;
  seed?: number;
}

/** mulberry32: a small seeded generator, so a chaos run fails the same requests each time. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** The body as text, cut at 64 KiB (uploads can be large); `bodyBytes` has the whole length. */
  body: string;
  bodyBytes: number;
}

export const EMULATOR_API_KEY = 'emulator-key';
export const EMULATOR_BLOCKED_TERM = 'EMULATOR_BLOCK';

export const DEFAULT_DEPLOYMENTS: readonly EmulatorDeployment[] = [
  { name: 'gpt-4o', model: 'gpt-4o-2024-08-06', kind: 'chat' },
  { name: 'gpt-4o-mini', model: 'gpt-4o-mini-2024-07-18', kind: 'chat' },
  { name: 'gpt-4.1', model: 'gpt-4.1-2025-04-14', kind: 'chat' },
  { name: 'gpt-35-turbo', model: 'gpt-35-turbo-0125', kind: 'chat' },
  // Reasoning models, which refuse max_tokens and sampling parameters as Azure's do; one named for its model, one not.
  { name: 'o4-mini', model: 'o4-mini-2025-04-16', kind: 'chat' },
  { name: 'reasoner', model: 'o3-mini-2025-01-31', kind: 'chat' },
  { name: 'gpt-35-turbo-instruct', model: 'gpt-35-turbo-instruct-0914', kind: 'completions' },
  { name: 'text-embedding-3-small', model: 'text-embedding-3-small', kind: 'embeddings', dimensions: 1536 },
  { name: 'text-embedding-ada-002', model: 'text-embedding-ada-002', kind: 'embeddings', dimensions: 1536 },
  { name: 'dall-e-3', model: 'dall-e-3', kind: 'images' },
  { name: 'gpt-image-1', model: 'gpt-image-1', kind: 'images' },
  { name: 'whisper', model: 'whisper', kind: 'transcription' },
  { name: 'tts', model: 'tts', kind: 'speech' },
  { name: 'gpt-realtime', model: 'gpt-realtime-2025-08-28', kind: 'realtime' },
];

/** Dated api-versions the data plane accepts; anything else is "Resource not found", as on Azure. */
export const SUPPORTED_API_VERSIONS: ReadonlySet<string> = new Set([
  '2022-12-01', '2023-05-15', '2024-02-01', '2024-06-01', '2024-10-21',
  '2023-03-15-preview', '2023-06-01-preview', '2023-07-01-preview', '2023-08-01-preview', '2023-09-01-preview',
  '2023-12-01-preview', '2024-02-15-preview', '2024-03-01-preview', '2024-04-01-preview', '2024-05-01-preview',
  '2024-07-01-preview', '2024-08-01-preview', '2024-09-01-preview', '2024-10-01-preview', '2024-12-01-preview',
  '2025-01-01-preview', '2025-02-01-preview', '2025-03-01-preview', '2025-04-01-preview',
]);

interface DeploymentOperation {
  kind: DeploymentKind;
  azureName: string;
  body: 'json' | 'multipart';
  /** Only previews of this date or later have the operation. */
  previewSince?: string;
}

const DEPLOYMENT_OPERATIONS: Readonly<Record<string, DeploymentOperation>> = {
  'chat/completions': { kind: 'chat', azureName: 'ChatCompletions_Create', body: 'json' },
  completions: { kind: 'completions', azureName: 'Completions_Create', body: 'json' },
  embeddings: { kind: 'embeddings', azureName: 'Embeddings_Create', body: 'json' },
  'images/generations': { kind: 'images', azureName: 'ImageGenerations_Create', body: 'json' },
  'images/edits': { kind: 'images', azureName: 'ImageEdits_Create', body: 'multipart', previewSince: '2025-04-01' },
  'audio/transcriptions': { kind: 'transcription', azureName: 'Transcriptions_Create', body: 'multipart' },
  'audio/translations': { kind: 'transcription', azureName: 'Translations_Create', body: 'multipart' },
  'audio/speech': { kind: 'speech', azureName: 'Speech_Create', body: 'json', previewSince: '2024-02-15' },
};

/** Resource families of the dated API, and the first preview that has each (none: every listed version). */
const RESOURCE_FAMILIES: Readonly<Record<string, string | undefined>> = {
  files: undefined,
  batches: undefined,
  fine_tuning: undefined,
  models: undefined,
  responses: '2025-03-01',
  assistants: '2024-02-15',
  threads: '2024-02-15',
  vector_stores: '2024-05-01',
};

function datedVersionHas(apiVersion: string | null, previewSince: string | undefined): apiVersion is string {
  if (apiVersion === null || !SUPPORTED_API_VERSIONS.has(apiVersion)) return false;
  return previewSince === undefined || (apiVersion.endsWith('-preview') && apiVersion.slice(0, 10) >= previewSince);
}

const RECORDED_BODY_BYTES = 64 * 1024;
const BINARY_CHUNK_BYTES = 16 * 1024;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class AzureOpenAIEmulator {
  readonly requests: RecordedRequest[] = [];
  readonly events = new EventEmitter();
  readonly stats = { streamsStarted: 0, streamsCompleted: 0, streamsAborted: 0, openStreams: 0 };
  url = '';

  readonly #server: Server;
  readonly #apiKeys: readonly string[];
  readonly #bearerTokens: readonly string[];
  readonly #acceptBearer: ((token: string) => boolean) | undefined;
  readonly #chunkDelayMs: number;
  readonly #settings: InferenceSettings;
  readonly #deployments: Map<string, EmulatorDeployment>;
  readonly #windows = new Map<string, number[]>();
  readonly #images: ImageStore = new Map();
  readonly #resources: EmulatorResources;
  #faultRate = 0;
  #random: () => number = Math.random;
  #faultCount = 0;

  private constructor(options: EmulatorOptions) {
    if (options.faults !== undefined) this.faults = options.faults;
    this.#apiKeys = options.apiKeys ?? [EMULATOR_API_KEY];
    this.#bearerTokens = options.bearerTokens ?? [];
    this.#acceptBearer = options.acceptBearer;
    this.#chunkDelayMs = options.chunkDelayMs ?? 0;
    this.#settings = { blockedTerms: options.blockedTerms ?? [EMULATOR_BLOCKED_TERM], asyncFilterChunks: options.asyncFilterChunks ?? false };
    this.#deployments = new Map((options.deployments ?? DEFAULT_DEPLOYMENTS).map((d) => [d.name, d]));
    this.#resources = new EmulatorResources({
      ...this.#settings,
      deployment: (name) => this.#deployments.get(name),
      deployments: () => [...this.#deployments.values()],
      fineTunedModels: options.fineTunedModels ?? [],
    });
    this.#server = createServer((req, res) => {
      this.#serve(req, res).catch(() => res.destroy());
    });
  }

  static async start(options: EmulatorOptions = {}): Promise<AzureOpenAIEmulator> {
    const emulator = new AzureOpenAIEmulator(options);
    await new Promise<void>((resolve, reject) => {
      emulator.#server.once('error', reject);
      emulator.#server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    const address = emulator.#server.address() as AddressInfo;
    emulator.url = `http://${address.address}:${address.port}`;
    return emulator;
  }

  /** Injects (or, with rate 0, stops) random failures from now on. */
  set faults(faults: Faults) {
    this.#faultRate = faults.rate;
    this.#random = seededRandom(faults.seed ?? 1);
  }

  /** Requests failed on purpose so far: 500s and resets. */
  faulted = { errors: 0, resets: 0 };

  get deployments(): readonly EmulatorDeployment[] {
    return [...this.#deployments.values()];
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    this.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...req.headers },
      body: body.subarray(0, RECORDED_BODY_BYTES).toString('utf8'),
      bodyBytes: body.length,
    });
    const common = { 'apim-request-id': randomUUID(), 'x-request-id': randomUUID(), 'x-ms-region': 'Emulator' };
    if (this.#faultRate > 0 && this.#random() < this.#faultRate) {
      if (this.#faultCount++ % 2 === 1) {
        this.faulted.resets++;
        req.socket.destroy();
        return;
      }
      this.faulted.errors++;
      const text = JSON.stringify({ error: { code: 'InternalServerError', message: 'The server had an error while processing your request.' } });
      res.writeHead(500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...common });
      res.end(text);
      return;
    }
    try {
      const reply = await this.#route(req, url, body);
      await this.#write(res, reply, common);
    } catch (error) {
      if (!(error instanceof EmulatorHttpError)) throw error;
      const text = JSON.stringify(error.body);
      res.writeHead(error.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...common, ...error.headers });
      res.end(text);
    }
  }

  async #route(req: IncomingMessage, url: URL, raw: Buffer): Promise<Reply> {
    const method = req.method ?? 'GET';
    const apiVersion = url.searchParams.get('api-version');

    // Generated images, served without auth like a blob's SAS URL.
    const blob = /^\/emulator-blobs\/images\/([\w-]+)\.png$/.exec(url.pathname);
    if (blob?.[1] !== undefined && method === 'GET') {
      const png = this.#images.get(blob[1]);
      if (png === undefined) throw resourceNotFound();
      return { kind: 'bytes', body: png, contentType: 'image/png' };
    }

    const dated = /^\/openai\/deployments\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (dated?.[1] !== undefined && dated[2] !== undefined) {
      const operation = DEPLOYMENT_OPERATIONS[dated[2]];
      if (operation === undefined || method !== 'POST' || !datedVersionHas(apiVersion, operation.previewSince)) throw resourceNotFound();
      this.#authenticate(req);
      const deployment = this.#deployments.get(decodeURIComponent(dated[1]));
      if (deployment === undefined) throw deploymentNotFound();
      return this.#deploymentOperation(dated[2], operation, deployment, await parseBody(req, raw, operation.body), apiVersion);
    }

    const v1 = /^\/openai\/v1\/(.+)$/.exec(url.pathname);
    if (v1?.[1] !== undefined) {
      if (apiVersion !== null && apiVersion !== 'v1' && apiVersion !== 'preview') {
        throw azureError(400, 'BadRequest', `API version ${apiVersion} is not supported by the v1 API; use v1 or preview, or leave it out.`);
      }
      this.#authenticate(req);
      if (v1[1] === 'realtime/client_secrets' && method === 'POST') return this.#realtimeClientSecret(await parseBody(req, raw, 'json'));
      const operation = DEPLOYMENT_OPERATIONS[v1[1]];
      if (operation !== undefined && method === 'POST') {
        const body = await parseBody(req, raw, operation.body);
        // The v1 API names the deployment in the body's model.
        const model = body.form?.get('model') ?? body.json?.model;
        if (typeof model !== 'string' || model === '') throw validationError('you must provide a model parameter', 'model');
        const deployment = this.#deployments.get(model);
        if (deployment === undefined) throw deploymentNotFound();
        return this.#deploymentOperation(v1[1], operation, deployment, body, apiVersion);
      }
      return this.#resource(req, method, v1[1], url.searchParams, raw);
    }

    const resource = /^\/openai\/(.+)$/.exec(url.pathname);
    if (resource?.[1] !== undefined) {
      const family = resource[1].split('/')[0] ?? '';
      if (!(family in RESOURCE_FAMILIES) || !datedVersionHas(apiVersion, RESOURCE_FAMILIES[family])) throw resourceNotFound();
      this.#authenticate(req);
      return this.#resource(req, method, resource[1], url.searchParams, raw);
    }
    throw resourceNotFound();
  }

  /**
   * `POST /openai/v1/realtime/client_secrets` (the GA Realtime API): a short-lived key for a browser's WebRTC
   * session with a realtime deployment, named in `session.model`, as Azure answers it.
   */
  #realtimeClientSecret(body: ParsedBody): Reply {
    const request = body.json ?? {};
    const session = isObject(request.session) ? request.session : undefined;
    const model = session?.model;
    if (session === undefined || typeof model !== 'string' || model === '') throw validationError("Missing required parameter: 'session.model'.", 'session.model');
    const deployment = this.#deployments.get(model);
    if (deployment === undefined) throw deploymentNotFound();
    if (deployment.kind !== 'realtime') {
      throw azureError(400, 'OperationNotSupported', `The realtime operation does not work with the specified model, ${deployment.model}. Please choose different model and try again.`);
    }
    const expiresAfter = isObject(request.expires_after) ? request.expires_after.seconds : undefined;
    const seconds = typeof expiresAfter === 'number' && expiresAfter >= 10 && expiresAfter <= 7200 ? expiresAfter : 600;
    const expiresAt = Math.floor(Date.now() / 1000) + seconds;
    return json({ value: `ek_${randomUUID().replaceAll('-', '')}`, expires_at: expiresAt, session: { type: 'realtime', object: 'realtime.session', id: `sess_${randomUUID().replaceAll('-', '')}`, ...session, model, expires_at: expiresAt } });
  }

  async #resource(req: IncomingMessage, method: string, path: string, query: URLSearchParams, raw: Buffer): Promise<Reply> {
    const multipart = req.headers['content-type']?.startsWith('multipart/form-data') === true;
    const body = method === 'GET' || method === 'DELETE' ? {} : await parseBody(req, raw, multipart ? 'multipart' : 'json');
    const reply = await this.#resources.route(method, path.split('/').map(decodeURIComponent), query, body);
    if (reply === undefined) throw resourceNotFound();
    return reply;
  }

  #authenticate(req: IncomingMessage): void {
    const apiKey = req.headers['api-key'];
    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const ok =
      (typeof apiKey === 'string' && this.#apiKeys.includes(apiKey)) ||
      (bearer !== undefined && (this.#bearerTokens.includes(bearer) || this.#apiKeys.includes(bearer) || this.#acceptBearer?.(bearer) === true));
    if (!ok) {
      throw azureError(
        401,
        '401',
        'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
      );
    }
  }

  async #deploymentOperation(
    name: string,
    operation: DeploymentOperation,
    deployment: EmulatorDeployment,
    body: ParsedBody,
    apiVersion: string | null,
  ): Promise<Reply> {
    if (deployment.kind !== operation.kind) {
      const what = name === 'chat/completions' ? 'chatCompletion' : name;
      throw azureError(
        400,
        'OperationNotSupported',
        `The ${what} operation does not work with the specified model, ${deployment.model}. Please choose different model and try again. You can learn more about which models can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993.`,
      );
    }
    const remaining = this.#takeQuota(deployment, operation.azureName, apiVersion ?? 'v1');
    const json = body.json ?? {};
    const datedBefore = (date: string): boolean => apiVersion !== null && /^\d/.test(apiVersion) && apiVersion < date;
    if (json.stream_options !== undefined && datedBefore('2024-09-01')) {
      throw validationError('Unrecognized request argument supplied: stream_options');
    }
    const reply = await this.#operate(name, deployment, body);
    return reply.kind === 'json' ? { ...reply, headers: { 'x-ratelimit-remaining-requests': String(remaining), 'x-ratelimit-remaining-tokens': '100000' } } : reply;
  }

  #operate(name: string, deployment: EmulatorDeployment, body: ParsedBody): Reply | Promise<Reply> {
    const json = body.json ?? {};
    const form = body.form ?? new FormData();
    switch (name) {
      case 'chat/completions':
        return chat(deployment, json, this.#settings);
      case 'completions':
        return completions(deployment, json, this.#settings);
      case 'embeddings':
        return embeddings(deployment, json);
      case 'images/generations':
        return imageGenerations(deployment, json, this.#settings, this.#images, this.url);
      case 'images/edits':
        return imageEdits(deployment, form, this.#settings, this.#images, this.url);
      case 'audio/transcriptions':
        return transcribe(deployment, form, 'transcribe');
      case 'audio/translations':
        return transcribe(deployment, form, 'translate');
      case 'audio/speech':
        return speech(json);
      default:
        throw resourceNotFound();
    }
  }

  /** Counts one request against the deployment's quota; throws Azure's 429 when it is used up. */
  #takeQuota(deployment: EmulatorDeployment, operationName: string, apiVersion: string): number {
    const limit = deployment.rateLimit;
    if (limit === undefined) return 1000;
    const now = Date.now();
    const window = (this.#windows.get(deployment.name) ?? []).filter((t) => t > now - limit.windowMs);
    this.#windows.set(deployment.name, window);
    if (window.length >= limit.requests) {
      const retryAfterMs = Math.max(1, (window[0] ?? now) + limit.windowMs - now);
      const seconds = Math.ceil(retryAfterMs / 1000);
      throw new EmulatorHttpError(
        429,
        {
          error: {
            code: '429',
            message: `Requests to the ${operationName} Operation under Azure OpenAI API version ${apiVersion} have exceeded call rate limit of your current OpenAI S0 pricing tier. Please retry after ${seconds} second${seconds === 1 ? '' : 's'}. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.`,
          },
        },
        { 'retry-after': String(seconds), 'retry-after-ms': String(retryAfterMs), 'x-ratelimit-remaining-requests': '0' },
      );
    }
    window.push(now);
    return limit.requests - window.length;
  }

  async #write(res: ServerResponse, reply: Reply, common: Record<string, string>): Promise<void> {
    switch (reply.kind) {
      case 'json': {
        // With its length, as Azure sends a JSON answer.
        const text = JSON.stringify(reply.body);
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...common, ...reply.headers });
        res.end(text);
        return;
      }
      case 'text':
        res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType, 'content-length': Buffer.byteLength(reply.body), ...common });
        res.end(reply.body);
        return;
      case 'bytes':
        // Sent in pieces, as a service streams audio, so clients see a streamed body.
        res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType, ...common });
        for (let at = 0; at < reply.body.length && !res.destroyed; at += BINARY_CHUNK_BYTES) {
          res.write(reply.body.subarray(at, at + BINARY_CHUNK_BYTES));
          if (this.#chunkDelayMs > 0) await sleep(this.#chunkDelayMs);
        }
        res.end();
        return;
      case 'events':
        return this.#stream(res, common, reply.events, reply.done);
    }
  }

  /** Writes events one by one (with the configured delay), stopping as soon as the client goes away. */
  async #stream(res: ServerResponse, headers: Record<string, string>, events: readonly SseEvent[], done: string | undefined): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers });
    this.stats.streamsStarted++;
    this.stats.openStreams++;
    let closed = false;
    res.once('close', () => {
      closed = true;
    });
    try {
      for (const event of events) {
        if (closed) break;
        const data = typeof event.data === 'string' ? event.data : JSON.stringify(event.data);
        res.write(`${event.event === undefined ? '' : `event: ${event.event}\n`}data: ${data}\n\n`);
        if (this.#chunkDelayMs > 0) await sleep(this.#chunkDelayMs);
      }
      if (!closed) {
        res.end(done === undefined ? undefined : `${done === '[DONE]' && events.some((e) => e.event !== undefined) ? 'event: done\n' : ''}data: ${done}\n\n`);
        this.stats.streamsCompleted++;
      } else {
        this.stats.streamsAborted++;
        this.events.emit('stream-aborted');
      }
    } finally {
      this.stats.openStreams--;
    }
  }
}

/** Reads a request body as JSON or multipart form data, answering as Azure does when it cannot. */
async function parseBody(req: IncomingMessage, raw: Buffer, kind: 'json' | 'multipart'): Promise<ParsedBody> {
  const contentType = req.headers['content-type'] ?? '';
  if (kind === 'multipart') {
    if (!contentType.startsWith('multipart/form-data')) throw validationError('Expected a multipart/form-data body.');
    try {
      return { form: await new Response(raw, { headers: { 'content-type': contentType } }).formData() };
    } catch {
      throw validationError('Could not parse the multipart/form-data body.');
    }
  }
  if (raw.length === 0) return { json: {} };
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw validationError(
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.",
    );
  }
  if (!isObject(body)) throw validationError('Invalid request body: expected an object.');
  return { json: body };
}
