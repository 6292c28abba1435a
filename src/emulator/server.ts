/**
 * A local Azure OpenAI emulator that speaks Azure's wire format: deployment URLs, a required and checked
 * api-version, `api-key` or Bearer auth, `prompt_filter_results`, the empty-choices first stream chunk,
 * Azure's error bodies (DeploymentNotFound, OperationNotSupported, content_filter), and 429 with
 * `retry-after`/`retry-after-ms` when a deployment's request quota is used up.
 *
 * `npm start` uses it when no AZURE_OPENAI_ENDPOINT is set, and the tests use it as their upstream.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  argumentsFor,
  base64Embedding,
  chatReply,
  chooseTool,
  contentFilterResults,
  countTokens,
  embeddingFor,
  isObject,
  promptFilterResults,
  promptText,
  randomId,
  tokenPieces,
  type JsonObject,
} from './content';

export type DeploymentKind = 'chat' | 'completions' | 'embeddings';

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
  deployments?: readonly EmulatorDeployment[];
  /** Delay between stream chunks, ms. */
  chunkDelayMs?: number;
  /** Prompt phrases that the emulated content filter blocks with Azure's 400 content_filter error. */
  blockedTerms?: readonly string[];
  /** Add the asynchronous filter's delta-less chunks to chat streams. */
  asyncFilterChunks?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export const EMULATOR_API_KEY = 'emulator-key';
export const EMULATOR_BLOCKED_TERM = 'EMULATOR_BLOCK';

export const DEFAULT_DEPLOYMENTS: readonly EmulatorDeployment[] = [
  { name: 'gpt-4o', model: 'gpt-4o-2024-08-06', kind: 'chat' },
  { name: 'gpt-4o-mini', model: 'gpt-4o-mini-2024-07-18', kind: 'chat' },
  { name: 'gpt-4.1', model: 'gpt-4.1-2025-04-14', kind: 'chat' },
  { name: 'gpt-35-turbo', model: 'gpt-35-turbo-0125', kind: 'chat' },
  { name: 'gpt-35-turbo-instruct', model: 'gpt-35-turbo-instruct-0914', kind: 'completions' },
  { name: 'text-embedding-3-small', model: 'text-embedding-3-small', kind: 'embeddings', dimensions: 1536 },
  { name: 'text-embedding-ada-002', model: 'text-embedding-ada-002', kind: 'embeddings', dimensions: 1536 },
];

/** api-versions the data plane accepts; anything else is "Resource not found", as on Azure. */
export const SUPPORTED_API_VERSIONS: ReadonlySet<string> = new Set([
  '2022-12-01',
  '2023-05-15',
  '2024-02-01',
  '2024-06-01',
  '2024-10-21',
  '2023-03-15-preview',
  '2023-06-01-preview',
  '2023-07-01-preview',
  '2023-08-01-preview',
  '2023-09-01-preview',
  '2023-12-01-preview',
  '2024-02-15-preview',
  '2024-03-01-preview',
  '2024-04-01-preview',
  '2024-05-01-preview',
  '2024-07-01-preview',
  '2024-08-01-preview',
  '2024-09-01-preview',
  '2024-10-01-preview',
  '2024-12-01-preview',
  '2025-01-01-preview',
  '2025-02-01-preview',
  '2025-03-01-preview',
  '2025-04-01-preview',
]);

const OPERATIONS: Record<string, { kind: DeploymentKind; azureName: string }> = {
  'chat/completions': { kind: 'chat', azureName: 'ChatCompletions_Create' },
  completions: { kind: 'completions', azureName: 'Completions_Create' },
  embeddings: { kind: 'embeddings', azureName: 'Embeddings_Create' },
};

class EmulatorHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: JsonObject,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

function azureError(status: number, code: string, message: string, extra: JsonObject = {}): EmulatorHttpError {
  return new EmulatorHttpError(status, { error: { code, message, ...extra } });
}

/** The validation errors Azure passes on from the model service are in OpenAI's own shape. */
function validationError(message: string, param: string | null = null): EmulatorHttpError {
  return new EmulatorHttpError(400, { error: { message, type: 'invalid_request_error', param, code: null } });
}

const RESOURCE_NOT_FOUND = (): EmulatorHttpError => azureError(404, '404', 'Resource not found');

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class AzureOpenAIEmulator {
  readonly requests: RecordedRequest[] = [];
  readonly events = new EventEmitter();
  readonly stats = { streamsStarted: 0, streamsCompleted: 0, streamsAborted: 0, openStreams: 0 };
  url = '';

  readonly #server: Server;
  readonly #options: Required<Omit<EmulatorOptions, 'host' | 'port'>>;
  readonly #deployments: Map<string, EmulatorDeployment>;
  readonly #windows = new Map<string, number[]>();

  private constructor(options: EmulatorOptions) {
    this.#options = {
      apiKeys: options.apiKeys ?? [EMULATOR_API_KEY],
      bearerTokens: options.bearerTokens ?? [],
      deployments: options.deployments ?? DEFAULT_DEPLOYMENTS,
      chunkDelayMs: options.chunkDelayMs ?? 0,
      blockedTerms: options.blockedTerms ?? [EMULATOR_BLOCKED_TERM],
      asyncFilterChunks: options.asyncFilterChunks ?? false,
    };
    this.#deployments = new Map(this.#options.deployments.map((d) => [d.name, d]));
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

  get deployments(): readonly EmulatorDeployment[] {
    return this.#options.deployments;
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
    const bodyText = Buffer.concat(chunks).toString('utf8');
    this.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...req.headers },
      body: bodyText,
    });
    const common = { 'apim-request-id': randomUUID(), 'x-request-id': randomUUID(), 'x-ms-region': 'Emulator' };
    try {
      await this.#route(req, res, url, bodyText, common);
    } catch (error) {
      if (!(error instanceof EmulatorHttpError)) throw error;
      res.writeHead(error.status, { 'content-type': 'application/json', ...common, ...error.headers });
      res.end(JSON.stringify(error.body));
    }
  }

  async #route(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    bodyText: string,
    common: Record<string, string>,
  ): Promise<void> {
    const match = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|completions|embeddings)$/.exec(url.pathname);
    const operation = match?.[2] === undefined ? undefined : OPERATIONS[match[2]];
    if (match?.[1] === undefined || operation === undefined || req.method !== 'POST') throw RESOURCE_NOT_FOUND();
    const apiVersion = url.searchParams.get('api-version');
    if (apiVersion === null || !SUPPORTED_API_VERSIONS.has(apiVersion)) throw RESOURCE_NOT_FOUND();
    this.#authenticate(req);

    const deployment = this.#deployments.get(decodeURIComponent(match[1]));
    if (deployment === undefined) {
      throw azureError(
        404,
        'DeploymentNotFound',
        'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
      );
    }
    if (deployment.kind !== operation.kind) {
      const what = match[2] === 'chat/completions' ? 'chatCompletion' : match[2];
      throw azureError(
        400,
        'OperationNotSupported',
        `The ${what} operation does not work with the specified model, ${deployment.model}. Please choose different model and try again. You can learn more about which models can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993.`,
      );
    }
    const remaining = this.#takeQuota(deployment, operation.azureName, apiVersion);

    let body: unknown;
    try {
      body = JSON.parse(bodyText);
    } catch {
      throw validationError("We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.");
    }
    if (!isObject(body)) throw validationError('Invalid request body: expected an object.');
    if (body.stream_options !== undefined && apiVersion < '2024-09-01') {
      throw validationError('Unrecognized request argument supplied: stream_options');
    }
    const headers = { ...common, 'x-ratelimit-remaining-requests': String(remaining), 'x-ratelimit-remaining-tokens': '100000' };
    switch (deployment.kind) {
      case 'chat':
        return this.#chat(res, deployment, body, headers);
      case 'completions':
        return this.#completions(res, deployment, body, headers);
      case 'embeddings':
        return this.#embeddings(res, deployment, body, headers);
    }
  }

  #authenticate(req: IncomingMessage): void {
    const apiKey = req.headers['api-key'];
    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const { apiKeys, bearerTokens } = this.#options;
    const ok =
      (typeof apiKey === 'string' && apiKeys.includes(apiKey)) ||
      (bearer !== undefined && (bearerTokens.includes(bearer) || apiKeys.includes(bearer)));
    if (!ok) {
      throw azureError(
        401,
        '401',
        'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
      );
    }
  }

  /** Counts one request against the deployment's quota; throws Azure's 429 when it is used up. */
  #takeQuota(deployment: EmulatorDeployment, operationName: string, apiVersion: string): number {
    const limit = deployment.rateLimit;
    if (limit === undefined) return 1000;
    const now = Date.now();
    const window = (this.#windows.get(deployment.name) ?? []).filter((t) => t > now - limit.windowMs);
    if (window.length >= limit.requests) {
      const retryAfterMs = Math.max(1, (window[0] ?? now) + limit.windowMs - now);
      const seconds = Math.ceil(retryAfterMs / 1000);
      this.#windows.set(deployment.name, window);
      throw new EmulatorHttpError(
        429,
        {
          error: {
            code: '429',
            message: `Requests to the ${operationName} Operation under Azure OpenAI API version ${apiVersion} have exceeded call rate limit of your current OpenAI S0 pricing tier. Please retry after ${seconds} second${seconds === 1 ? '' : 's'}. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.`,
          },
        },
        {
          'retry-after': String(seconds),
          'retry-after-ms': String(retryAfterMs),
          'x-ratelimit-remaining-requests': '0',
        },
      );
    }
    window.push(now);
    this.#windows.set(deployment.name, window);
    return limit.requests - window.length;
  }

  #checkContentFilter(prompt: string): void {
    const blocked = this.#options.blockedTerms.find((term) => prompt.includes(term));
    if (blocked === undefined) return;
    const results = {
      ...contentFilterResults(),
      violence: { filtered: true, severity: 'high' },
      jailbreak: { filtered: false, detected: false },
    };
    throw new EmulatorHttpError(400, {
      error: {
        message:
          "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
        type: null,
        param: 'prompt',
        code: 'content_filter',
        status: 400,
        innererror: { code: 'ResponsibleAIPolicyViolation', content_filter_result: results },
      },
    });
  }

  #chat(res: ServerResponse, deployment: EmulatorDeployment, body: JsonObject, headers: Record<string, string>): Promise<void> {
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      throw validationError("'messages' is a required property", 'messages');
    }
    const messages: unknown[] = body.messages;
    const prompt = promptText(messages);
    this.#checkContentFilter(prompt);
    const limit = maxTokens(body);
    const tool = chooseTool(body);
    const full = chatReply(deployment.name, messages);
    const pieces = tokenPieces(full);
    const truncated = limit !== undefined && pieces.length > limit;
    let reply = truncated ? pieces.slice(0, limit).join('') : full;
    const format = isObject(body.response_format) ? body.response_format.type : undefined;
    if (format === 'json_object' || format === 'json_schema') reply = JSON.stringify({ reply });
    const finishReason = tool !== undefined ? 'tool_calls' : truncated ? 'length' : 'stop';
    const toolCall =
      tool === undefined
        ? undefined
        : { id: randomId('call'), type: 'function', function: { name: tool.name, arguments: JSON.stringify(argumentsFor(tool.parameters)) } };
    const choices = typeof body.n === 'number' && body.n > 1 ? Math.min(body.n, 8) : 1;
    const usage = {
      prompt_tokens: countTokens(prompt) + 7 * messages.length,
      completion_tokens: tool === undefined ? countTokens(reply) * choices : 12,
      total_tokens: 0,
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const id = randomId('chatcmpl');
    const created = Math.floor(Date.now() / 1000);
    const base = { id, created, model: deployment.model, system_fingerprint: 'fp_emulator' };

    if (body.stream !== true) {
      sendJson(res, 200, headers, {
        ...base,
        object: 'chat.completion',
        choices: Array.from({ length: choices }, (_, index) => ({
          index,
          message: {
            role: 'assistant',
            content: toolCall === undefined ? reply : null,
            refusal: null,
            ...(toolCall !== undefined && { tool_calls: [toolCall] }),
          },
          finish_reason: finishReason,
          logprobs: null,
          content_filter_results: toolCall === undefined ? contentFilterResults() : {},
        })),
        usage,
        prompt_filter_results: promptFilterResults(),
      });
      return Promise.resolve();
    }

    const includeUsage = isObject(body.stream_options) && body.stream_options.include_usage === true;
    const chunk = (choice: JsonObject): JsonObject => ({
      ...base,
      object: 'chat.completion.chunk',
      choices: [choice],
      ...(includeUsage && { usage: null }),
    });
    const events: JsonObject[] = [
      { choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: promptFilterResults() },
    ];
    for (let index = 0; index < choices; index++) {
      events.push(chunk({ index, delta: { role: 'assistant', content: '', refusal: null }, finish_reason: null, logprobs: null, content_filter_results: {} }));
      if (toolCall !== undefined) {
        const args = toolCall.function.arguments;
        const half = Math.ceil(args.length / 2);
        events.push(chunk({ index, delta: { tool_calls: [{ index: 0, id: toolCall.id, type: 'function', function: { name: toolCall.function.name, arguments: '' } }] }, finish_reason: null, logprobs: null }));
        for (const part of [args.slice(0, half), args.slice(half)]) {
          events.push(chunk({ index, delta: { tool_calls: [{ index: 0, function: { arguments: part } }] }, finish_reason: null, logprobs: null }));
        }
      } else {
        for (const piece of tokenPieces(reply)) {
          events.push(chunk({ index, delta: { content: piece }, finish_reason: null, logprobs: null, content_filter_results: contentFilterResults() }));
        }
      }
      events.push(chunk({ index, delta: {}, finish_reason: finishReason, logprobs: null, content_filter_results: {} }));
      if (this.#options.asyncFilterChunks) {
        events.push(chunk({ index, finish_reason: null, content_filter_results: contentFilterResults(), content_filter_offsets: { check_offset: 0, start_offset: 0, end_offset: reply.length } }));
      }
    }
    if (includeUsage) events.push({ ...base, object: 'chat.completion.chunk', choices: [], usage });
    return this.#stream(res, headers, events);
  }

  #completions(res: ServerResponse, deployment: EmulatorDeployment, body: JsonObject, headers: Record<string, string>): Promise<void> {
    const prompts = typeof body.prompt === 'string' ? [body.prompt] : Array.isArray(body.prompt) ? body.prompt.filter((p): p is string => typeof p === 'string') : [];
    if (prompts.length === 0) throw validationError("'prompt' is a required property", 'prompt');
    this.#checkContentFilter(prompts.join('\n'));
    const limit = maxTokens(body) ?? 16;
    const texts = prompts.map((prompt) => {
      const pieces = tokenPieces(` Emulated completion of: ${prompt}`);
      return { text: pieces.slice(0, limit).join(''), finish: pieces.length > limit ? 'length' : 'stop' };
    });
    const usage = {
      prompt_tokens: countTokens(prompts.join(' ')),
      completion_tokens: texts.reduce((n, t) => n + countTokens(t.text), 0),
      total_tokens: 0,
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const base = { id: randomId('cmpl'), created: Math.floor(Date.now() / 1000), model: deployment.model, object: 'text_completion' };
    if (body.stream !== true) {
      sendJson(res, 200, headers, {
        ...base,
        choices: texts.map((t, index) => ({ text: t.text, index, finish_reason: t.finish, logprobs: null, content_filter_results: contentFilterResults() })),
        usage,
        prompt_filter_results: promptFilterResults(prompts.length),
      });
      return Promise.resolve();
    }
    const events: JsonObject[] = [{ choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: promptFilterResults(prompts.length) }];
    texts.forEach((t, index) => {
      for (const piece of tokenPieces(t.text)) {
        events.push({ ...base, choices: [{ text: piece, index, finish_reason: null, logprobs: null, content_filter_results: contentFilterResults() }] });
      }
      events.push({ ...base, choices: [{ text: '', index, finish_reason: t.finish, logprobs: null }] });
    });
    if (isObject(body.stream_options) && body.stream_options.include_usage === true) events.push({ ...base, choices: [], usage });
    return this.#stream(res, headers, events);
  }

  #embeddings(res: ServerResponse, deployment: EmulatorDeployment, body: JsonObject, headers: Record<string, string>): Promise<void> {
    const input = body.input;
    const inputs: string[] =
      typeof input === 'string'
        ? [input]
        : Array.isArray(input) && input.every((i) => typeof i === 'string')
          ? input
          : Array.isArray(input) && input.every((i) => typeof i === 'number')
            ? [JSON.stringify(input)]
            : Array.isArray(input) && input.every(Array.isArray)
              ? input.map((i) => JSON.stringify(i))
              : [];
    if (inputs.length === 0) throw validationError("'input' is a required property", 'input');
    let dimensions = deployment.dimensions ?? 1536;
    if (body.dimensions !== undefined) {
      if (!deployment.model.startsWith('text-embedding-3')) {
        throw validationError('This model does not support specifying dimensions.', 'dimensions');
      }
      if (typeof body.dimensions !== 'number' || body.dimensions < 1 || body.dimensions > dimensions) {
        throw validationError(`'dimensions' must be between 1 and ${dimensions}.`, 'dimensions');
      }
      dimensions = body.dimensions;
    }
    const base64 = body.encoding_format === 'base64';
    const tokens = inputs.reduce((n, text) => n + countTokens(text), 0);
    sendJson(res, 200, headers, {
      object: 'list',
      data: inputs.map((text, index) => {
        const vector = embeddingFor(text, dimensions);
        return { object: 'embedding', index, embedding: base64 ? base64Embedding(vector) : vector };
      }),
      model: deployment.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
    return Promise.resolve();
  }

  /** Writes events one by one (with the configured delay), stopping as soon as the client goes away. */
  async #stream(res: ServerResponse, headers: Record<string, string>, events: readonly JsonObject[]): Promise<void> {
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
        res.write(`data: ${JSON.stringify(event)}\n\n`);
        if (this.#options.chunkDelayMs > 0) await sleep(this.#options.chunkDelayMs);
      }
      if (!closed) {
        res.end('data: [DONE]\n\n');
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

function maxTokens(body: JsonObject): number | undefined {
  const value = body.max_completion_tokens ?? body.max_tokens;
  return typeof value === 'number' && value > 0 ? value : undefined;
}

function sendJson(res: ServerResponse, status: number, headers: Record<string, string>, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

