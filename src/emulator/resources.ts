/**
 * The emulator's resource-level APIs, kept in memory: files, batches, fine-tuning jobs, the model list, the
 * Responses API (with its named stream events), assistants, threads with messages and runs (streaming too), and
 * vector stores. Objects have OpenAI's shapes, so the official SDK parses them.
 */
import { chatReply, countTokens, isObject, randomId, tokenPieces, type JsonObject } from './content';
import { checkContentFilter, maxTokens, type InferenceSettings } from './inference';
import { deploymentNotFound, json, notFound, validationError, type Reply, type SseEvent } from './reply';

export interface ResourceDeployment {
  name: string;
  model: string;
  kind: string;
}

export interface ResourceSettings extends InferenceSettings {
  deployment(name: string): ResourceDeployment | undefined;
  deployments(): readonly ResourceDeployment[];
  fineTunedModels: readonly string[];
}

export interface ParsedBody {
  json?: JsonObject;
  form?: FormData;
}

interface StoredFile {
  object: JsonObject;
  bytes: Buffer;
}

const now = (): number => Math.floor(Date.now() / 1000);

function list(items: readonly JsonObject[], query: URLSearchParams, newestFirst = false): Reply {
  let data = newestFirst ? [...items].reverse() : [...items];
  const order = query.get('order');
  if (order === 'asc' && newestFirst) data.reverse();
  if (order === 'desc' && !newestFirst) data.reverse();
  const limit = Number(query.get('limit') ?? 20);
  const hasMore = data.length > limit;
  data = data.slice(0, limit);
  return json({ object: 'list', data, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null, has_more: hasMore });
}

function requireString(body: JsonObject | undefined, name: string): string {
  const value = body?.[name];
  if (typeof value !== 'string' || value === '') throw validationError(`'${name}' is a required property`, name);
  return value;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : ''))
    .filter((t) => t !== '')
    .join(' ');
}

const roleOf = (role: unknown): string => (role === 'assistant' ? 'assistant' : 'user');

/** The text of a stored thread message, whose content parts are `{type: "text", text: {value}}`. */
function messageText(message: JsonObject): string {
  const parts = Array.isArray(message.content) ? message.content : [];
  return parts.map((part) => (isObject(part) && isObject(part.text) ? String(part.text.value) : '')).join(' ');
}

/** The input of a Responses request as chat-style messages. */
function responseInput(input: unknown): JsonObject[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  if (!Array.isArray(input)) return [];
  return input.filter(isObject).map((item) => ({ role: item.role ?? 'user', content: textOf(item.content) || (typeof item.output === 'string' ? item.output : '') }));
}

export class EmulatorResources {
  readonly #settings: ResourceSettings;
  readonly #files = new Map<string, StoredFile>();
  readonly #batches = new Map<string, JsonObject>();
  readonly #jobs = new Map<string, JsonObject>();
  readonly #responses = new Map<string, { response: JsonObject; input: JsonObject[] }>();
  readonly #assistants = new Map<string, JsonObject>();
  readonly #threads = new Map<string, { thread: JsonObject; messages: JsonObject[]; runs: Map<string, JsonObject> }>();
  readonly #vectorStores = new Map<string, { store: JsonObject; files: Map<string, JsonObject> }>();

  constructor(settings: ResourceSettings) {
    this.#settings = settings;
  }

  /** Serves `/openai/{segments}` (or `/openai/v1/{segments}`); undefined when no such resource exists. */
  async route(method: string, segments: readonly string[], query: URLSearchParams, body: ParsedBody): Promise<Reply | undefined> {
    const [family, ...rest] = segments;
    switch (family) {
      case 'files':
        return this.#filesRoute(method, rest, query, body);
      case 'batches':
        return this.#batchesRoute(method, rest, query, body.json);
      case 'fine_tuning':
        return rest[0] === 'jobs' ? this.#jobsRoute(method, rest.slice(1), query, body.json) : undefined;
      case 'models':
        return method === 'GET' && rest.length === 0 ? this.#models() : undefined;
      case 'responses':
        return this.#responsesRoute(method, rest, query, body.json);
      case 'assistants':
        return this.#assistantsRoute(method, rest, query, body.json);
      case 'threads':
        return this.#threadsRoute(method, rest, query, body.json);
      case 'vector_stores':
        return this.#vectorStoresRoute(method, rest, query, body.json);
      default:
        return undefined;
    }
  }

  // Files ------------------------------------------------------------------------------------------------------

  async #filesRoute(method: string, rest: readonly string[], query: URLSearchParams, body: ParsedBody): Promise<Reply | undefined> {
    const [id, sub] = rest;
    if (id === undefined) {
      if (method === 'GET') return list([...this.#files.values()].map((f) => f.object), query);
      if (method !== 'POST') return undefined;
      const file = body.form?.get('file');
      const purpose = body.form?.get('purpose');
      if (file === null || file === undefined || typeof file === 'string') throw validationError("'file' is a required property", 'file');
      if (typeof purpose !== 'string' || purpose === '') throw validationError("'purpose' is a required property", 'purpose');
      const bytes = Buffer.from(await file.arrayBuffer());
      const object = { id: randomId('file'), object: 'file', bytes: bytes.length, created_at: now(), filename: file.name, purpose, status: 'processed', status_details: null };
      this.#files.set(object.id, { object, bytes });
      return json(object);
    }
    const stored = this.#files.get(id);
    if (stored === undefined) throw notFound('file', id);
    if (sub === 'content' && method === 'GET') {
      return { kind: 'bytes', body: stored.bytes, contentType: stored.object.purpose === 'batch' || String(stored.object.filename).endsWith('.jsonl') ? 'application/jsonl' : 'application/octet-stream' };
    }
    if (sub !== undefined) return undefined;
    if (method === 'GET') return json(stored.object);
    if (method === 'DELETE') {
      this.#files.delete(id);
      return json({ id, object: 'file', deleted: true });
    }
    return undefined;
  }

  // Batches ----------------------------------------------------------------------------------------------------

  #batchesRoute(method: string, rest: readonly string[], query: URLSearchParams, body: JsonObject | undefined): Reply | undefined {
    const [id, sub] = rest;
    if (id === undefined) {
      if (method === 'GET') return list([...this.#batches.values()], query, true);
      if (method !== 'POST') return undefined;
      const inputFileId = requireString(body, 'input_file_id');
      const endpoint = requireString(body, 'endpoint');
      if (!this.#files.has(inputFileId)) throw notFound('file', inputFileId);
      const batch = {
        id: randomId('batch'),
        object: 'batch',
        endpoint,
        errors: null,
        input_file_id: inputFileId,
        completion_window: body?.completion_window ?? '24h',
        status: 'validating',
        output_file_id: null,
        error_file_id: null,
        created_at: now(),
        in_progress_at: null,
        expires_at: now() + 86_400,
        completed_at: null,
        cancelled_at: null,
        request_counts: { total: 0, completed: 0, failed: 0 },
        metadata: body?.metadata ?? null,
      };
      this.#batches.set(batch.id, batch);
      return json(batch);
    }
    const batch = this.#batches.get(id);
    if (batch === undefined) throw notFound('batch', id);
    if (sub === undefined && method === 'GET') return json(batch);
    if (sub === 'cancel' && method === 'POST') {
      Object.assign(batch, { status: 'cancelling', cancelling_at: now() });
      return json(batch);
    }
    return undefined;
  }

  // Fine-tuning ------------------------------------------------------------------------------------------------

  #jobsRoute(method: string, rest: readonly string[], query: URLSearchParams, body: JsonObject | undefined): Reply | undefined {
    const [id, sub] = rest;
    if (id === undefined) {
      if (method === 'GET') return list([...this.#jobs.values()], query, true);
      if (method !== 'POST') return undefined;
      const model = requireString(body, 'model');
      const trainingFile = requireString(body, 'training_file');
      if (!this.#files.has(trainingFile)) throw notFound('file', trainingFile);
      const job = {
        id: randomId('ftjob'),
        object: 'fine_tuning.job',
        model,
        created_at: now(),
        finished_at: null,
        fine_tuned_model: null,
        organization_id: 'org-emulator',
        result_files: [],
        status: 'pending',
        validation_file: body?.validation_file ?? null,
        training_file: trainingFile,
        hyperparameters: { n_epochs: 'auto', batch_size: 'auto', learning_rate_multiplier: 'auto' },
        trained_tokens: null,
        error: null,
        seed: 42,
        suffix: body?.suffix ?? null,
      };
      this.#jobs.set(job.id, job);
      return json(job);
    }
    const job = this.#jobs.get(id);
    if (job === undefined) throw notFound('fine-tuning job', id);
    if (method === 'GET' && sub === undefined) return json(job);
    if (method === 'POST' && sub === 'cancel') {
      job.status = 'cancelled';
      return json(job);
    }
    if (method === 'GET' && sub === 'events') {
      const events = [
        { object: 'fine_tuning.job.event', id: `${id}-created`, created_at: job.created_at, level: 'info', message: 'Job enqueued', type: 'message', data: {} },
        ...(job.status === 'cancelled' ? [{ object: 'fine_tuning.job.event', id: `${id}-cancelled`, created_at: now(), level: 'info', message: 'Job cancelled', type: 'message', data: {} }] : []),
      ];
      return list(events, query, true);
    }
    if (method === 'GET' && sub === 'checkpoints') return list([], query);
    return undefined;
  }

  // Models: the resource's models, base and fine-tuned (not its deployments) -------------------------------

  #models(): Reply {
    const base = [...new Set(this.#settings.deployments().map((d) => d.model))].map((id) => ({
      id,
      object: 'model',
      status: 'succeeded',
      created_at: 1_700_000_000,
      capabilities: { fine_tune: false, inference: true, completion: false, chat_completion: true, embeddings: false },
      lifecycle_status: 'generally-available',
      deprecation: { inference: 1_900_000_000 },
    }));
    const tuned = this.#settings.fineTunedModels.map((id) => ({
      id,
      object: 'model',
      status: 'succeeded',
      created_at: 1_750_000_000,
      model: id.split('.ft-')[0],
      fine_tune: `ftjob-${id.split('.ft-')[1] ?? 'emulator'}`,
      capabilities: { fine_tune: false, inference: true, completion: false, chat_completion: true, embeddings: false },
      lifecycle_status: 'generally-available',
      deprecation: { inference: 1_900_000_000 },
    }));
    return json({ data: [...base, ...tuned], object: 'list' });
  }

  // Responses --------------------------------------------------------------------------------------------------

  #responsesRoute(method: string, rest: readonly string[], query: URLSearchParams, body: JsonObject | undefined): Reply | undefined {
    const [id, sub] = rest;
    if (id === undefined) return method === 'POST' ? this.#createResponse(body ?? {}) : undefined;
    const stored = this.#responses.get(id);
    if (stored === undefined) throw notFound('response', id);
    if (sub === undefined && method === 'GET') return json(stored.response);
    if (sub === undefined && method === 'DELETE') {
      this.#responses.delete(id);
      return json({ id, object: 'response', deleted: true });
    }
    if (sub === 'input_items' && method === 'GET') {
      return list(stored.input.map((m, i) => ({ id: `msg_in_${i}`, type: 'message', role: m.role, content: [{ type: 'input_text', text: m.content }] })), query);
    }
    if (sub === 'cancel' && method === 'POST') throw validationError('Only responses created with background=true can be cancelled.');
    return undefined;
  }

  #chatDeployment(name: string): ResourceDeployment {
    const deployment = this.#settings.deployment(name);
    if (deployment === undefined || deployment.kind !== 'chat') throw deploymentNotFound();
    return deployment;
  }

  #createResponse(body: JsonObject): Reply {
    const deployment = this.#chatDeployment(requireString(body, 'model'));
    const input = responseInput(body.input);
    if (input.length === 0) throw validationError("'input' is a required property", 'input');
    const previous = typeof body.previous_response_id === 'string' ? this.#responses.get(body.previous_response_id) : undefined;
    if (typeof body.previous_response_id === 'string' && previous === undefined) throw notFound('response', body.previous_response_id);
    checkContentFilter(input.map((m) => String(m.content)).join('\n'), this.#settings);
    const pieces = tokenPieces(chatReply(deployment.name, input));
    const limit = maxTokens(body);
    const text = (limit === undefined ? pieces : pieces.slice(0, limit)).join('');
    const id = randomId('resp');
    const itemId = randomId('msg');
    const usage = {
      input_tokens: countTokens(input.map((m) => String(m.content)).join(' ')),
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: countTokens(text),
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 0,
    };
    usage.total_tokens = usage.input_tokens + usage.output_tokens;
    const part = { type: 'output_text', text, annotations: [] };
    const item = { type: 'message', id: itemId, status: 'completed', role: 'assistant', content: [part] };
    const base = {
      id,
      object: 'response',
      created_at: now(),
      error: null,
      incomplete_details: null,
      instructions: body.instructions ?? null,
      max_output_tokens: body.max_output_tokens ?? null,
      model: deployment.model,
      parallel_tool_calls: true,
      previous_response_id: body.previous_response_id ?? null,
      reasoning: { effort: null, summary: null },
      store: body.store ?? true,
      temperature: body.temperature ?? 1,
      text: { format: { type: 'text' } },
      tool_choice: body.tool_choice ?? 'auto',
      tools: body.tools ?? [],
      top_p: body.top_p ?? 1,
      truncation: 'disabled',
      user: body.user ?? null,
      metadata: body.metadata ?? {},
    };
    const completed = { ...base, status: 'completed', output: [item], usage };
    if (body.store !== false) this.#responses.set(id, { response: completed, input });
    if (body.stream !== true) return json(completed);

    const inProgress = { ...base, status: 'in_progress', output: [], usage: null };
    let sequence = 0;
    const event = (type: string, data: JsonObject): SseEvent => ({ event: type, data: { type, sequence_number: sequence++, ...data } });
    const at = { item_id: itemId, output_index: 0, content_index: 0 };
    return {
      kind: 'events',
      events: [
        event('response.created', { response: inProgress }),
        event('response.in_progress', { response: inProgress }),
        event('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } }),
        event('response.content_part.added', { ...at, part: { type: 'output_text', text: '', annotations: [] } }),
        ...(limit === undefined ? pieces : pieces.slice(0, limit)).map((delta) => event('response.output_text.delta', { ...at, delta })),
        event('response.output_text.done', { ...at, text }),
        event('response.content_part.done', { ...at, part }),
        event('response.output_item.done', { output_index: 0, item }),
        event('response.completed', { response: completed }),
      ],
    };
  }

  // Assistants, threads, messages and runs ---------------------------------------------------------------------

  #assistantsRoute(method: string, rest: readonly string[], query: URLSearchParams, body: JsonObject | undefined): Reply | undefined {
    const [id] = rest;
    if (rest.length > 1) return undefined;
    if (id === undefined) {
      if (method === 'GET') return list([...this.#assistants.values()], query, true);
      if (method !== 'POST') return undefined;
      this.#chatDeployment(requireString(body, 'model'));
      const assistant = {
        id: randomId('asst'),
        object: 'assistant',
        created_at: now(),
        name: body?.name ?? null,
        description: body?.description ?? null,
        model: body?.model,
        instructions: body?.instructions ?? null,
        tools: body?.tools ?? [],
        tool_resources: body?.tool_resources ?? {},
        metadata: body?.metadata ?? {},
        temperature: body?.temperature ?? 1,
        top_p: body?.top_p ?? 1,
        response_format: body?.response_format ?? 'auto',
      };
      this.#assistants.set(assistant.id, assistant);
      return json(assistant);
    }
    const assistant = this.#assistants.get(id);
    if (assistant === undefined) throw notFound('assistant', id);
    if (method === 'GET') return json(assistant);
    if (method === 'POST') {
      if (typeof body?.model === 'string') this.#chatDeployment(body.model);
      Object.assign(assistant, body);
      return json(assistant);
    }
    if (method === 'DELETE') {
      this.#assistants.delete(id);
      return json({ id, object: 'assistant.deleted', deleted: true });
    }
    return undefined;
  }

  #newThread(body: JsonObject | undefined): { thread: JsonObject; messages: JsonObject[]; runs: Map<string, JsonObject> } {
    const thread = { id: randomId('thread'), object: 'thread', created_at: now(), metadata: body?.metadata ?? {}, tool_resources: {} };
    const state = { thread, messages: [] as JsonObject[], runs: new Map<string, JsonObject>() };
    for (const message of Array.isArray(body?.messages) ? body.messages.filter(isObject) : []) {
      state.messages.push(this.#message(thread.id, roleOf(message.role), textOf(message.content)));
    }
    this.#threads.set(thread.id, state);
    return state;
  }

  #message(threadId: string, role: string, text: string, runId: string | null = null, assistantId: string | null = null): JsonObject {
    return {
      id: randomId('msg'),
      object: 'thread.message',
      created_at: now(),
      thread_id: threadId,
      status: 'completed',
      role,
      content: [{ type: 'text', text: { value: text, annotations: [] } }],
      assistant_id: assistantId,
      run_id: runId,
      attachments: [],
      metadata: {},
    };
  }

  #threadsRoute(method: string, rest: readonly string[], query: URLSearchParams, body: JsonObject | undefined): Reply | undefined {
    const [id, sub, subId, action] = rest;
    if (id === undefined) return method === 'POST' ? json(this.#newThread(body).thread) : undefined;
    if (id === 'runs' && method === 'POST' && sub === undefined) {
      const state = this.#newThread(isObject(body?.thread) ? body.thread : undefined);
      return this.#createRun(state, body ?? {});
    }
    const state = this.#threads.get(id);
    if (state === undefined) throw notFound('thread', id);
    if (sub === undefined) {
      if (method === 'GET') return json(state.thread);
      if (method === 'POST') {
        Object.assign(state.thread, { metadata: body?.metadata ?? state.thread.metadata });
        return json(state.thread);
      }
      if (method === 'DELETE') {
        this.#threads.delete(id);
        return json({ id, object: 'thread.deleted', deleted: true });
      }
      return undefined;
    }
    if (sub === 'messages') {
      if (subId === undefined) {
        if (method === 'GET') return list(state.messages, query, true);
        if (method !== 'POST') return undefined;
        const message = this.#message(id, roleOf(body?.role), textOf(body?.content));
        state.messages.push(message);
        return json(message);
      }
      const message = state.messages.find((m) => m.id === subId);
      if (message === undefined) throw notFound('message', subId);
      if (method === 'GET') return json(message);
      if (method === 'DELETE') {
        state.messages.splice(state.messages.indexOf(message), 1);
        return json({ id: subId, object: 'thread.message.deleted', deleted: true });
      }
      return undefined;
    }
    if (sub !== 'runs') return undefined;
    if (subId === undefined) {
      if (method === 'GET') return list([...state.runs.values()], query, true);
      return method === 'POST' ? this.#createRun(state, body ?? {}) : undefined;
    }
    const run = state.runs.get(subId);
    if (run === undefined) throw notFound('run', subId);
    if (action === undefined && method === 'GET') return json(run);
    if (action === 'cancel' && method === 'POST') return json(run.status === 'completed' ? run : Object.assign(run, { status: 'cancelled' }));
    if (action === 'steps' && method === 'GET') {
      return list([{ id: `step_${subId}`, object: 'thread.run.step', created_at: run.created_at, run_id: subId, assistant_id: run.assistant_id, thread_id: id, type: 'message_creation', status: 'completed', step_details: { type: 'message_creation', message_creation: { message_id: run.message_id } }, usage: run.usage }], query);
    }
    return undefined;
  }

  /** Runs complete at once: the assistant's reply is added to the thread, and a stream shows the steps. */
  #createRun(state: { thread: JsonObject; messages: JsonObject[]; runs: Map<string, JsonObject> }, body: JsonObject): Reply {
    const assistantId = requireString(body, 'assistant_id');
    const assistant = this.#assistants.get(assistantId);
    if (assistant === undefined) throw notFound('assistant', assistantId);
    const deployment = this.#chatDeployment(typeof body.model === 'string' ? body.model : String(assistant.model));
    const threadId = String(state.thread.id);
    const history = state.messages.map((m) => ({ role: m.role, content: messageText(m) }));
    checkContentFilter(history.map((m) => m.content).join('\n'), this.#settings);
    const text = chatReply(deployment.name, history);
    const runId = randomId('run');
    const reply = this.#message(threadId, 'assistant', text, runId, assistantId);
    const usage = { prompt_tokens: countTokens(history.map((m) => m.content).join(' ')), completion_tokens: countTokens(text), total_tokens: 0 };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const run: JsonObject = {
      id: runId,
      object: 'thread.run',
      created_at: now(),
      assistant_id: assistantId,
      thread_id: threadId,
      status: 'queued',
      model: body.model ?? assistant.model,
      instructions: body.instructions ?? assistant.instructions,
      tools: assistant.tools,
      started_at: null,
      completed_at: null,
      usage: null,
      metadata: body.metadata ?? {},
      message_id: reply.id,
    };
    state.messages.push(reply);
    const completed = { ...run, status: 'completed', started_at: now(), completed_at: now(), usage };
    state.runs.set(runId, completed);
    if (body.stream !== true) return json(run);
    const inProgress = { ...run, status: 'in_progress', started_at: now() };
    const messageInProgress = { ...reply, status: 'in_progress', content: [] };
    return {
      kind: 'events',
      events: [
        { event: 'thread.run.created', data: run },
        { event: 'thread.run.queued', data: run },
        { event: 'thread.run.in_progress', data: inProgress },
        { event: 'thread.message.created', data: messageInProgress },
        { event: 'thread.message.in_progress', data: messageInProgress },
        ...tokenPieces(text).map((piece) => ({
          event: 'thread.message.delta',
          data: { id: reply.id, object: 'thread.message.delta', delta: { content: [{ index: 0, type: 'text', text: { value: piece, annotations: [] } }] } },
        })),
        { event: 'thread.message.completed', data: reply },
        { event: 'thread.run.completed', data: completed },
      ],
      done: '[DONE]',
    };
  }

  // Vector stores ----------------------------------------------------------------------------------------------

  #vectorStoresRoute(method: string, rest: readonly string[], query: URLSearchParams, body: JsonObject | undefined): Reply | undefined {
    const [id, sub, subId, action] = rest;
    if (id === undefined) {
      if (method === 'GET') return list([...this.#vectorStores.values()].map((s) => s.store), query, true);
      if (method !== 'POST') return undefined;
      const store = {
        id: randomId('vs'),
        object: 'vector_store',
        created_at: now(),
        name: body?.name ?? null,
        usage_bytes: 0,
        file_counts: { in_progress: 0, completed: 0, failed: 0, cancelled: 0, total: 0 },
        status: 'completed',
        expires_after: body?.expires_after ?? null,
        expires_at: null,
        last_active_at: now(),
        metadata: body?.metadata ?? {},
      };
      const state = { store, files: new Map<string, JsonObject>() };
      this.#vectorStores.set(store.id, state);
      for (const fileId of Array.isArray(body?.file_ids) ? body.file_ids : []) this.#addVectorStoreFile(state, String(fileId));
      return json(store);
    }
    const state = this.#vectorStores.get(id);
    if (state === undefined) throw notFound('vector store', id);
    if (sub === undefined) {
      if (method === 'GET') return json(state.store);
      if (method === 'POST') return json(Object.assign(state.store, { name: body?.name ?? state.store.name, metadata: body?.metadata ?? state.store.metadata }));
      if (method === 'DELETE') {
        this.#vectorStores.delete(id);
        return json({ id, object: 'vector_store.deleted', deleted: true });
      }
      return undefined;
    }
    if (sub === 'search' && method === 'POST') {
      return json({ object: 'vector_store.search_results.page', search_query: [requireString(body, 'query')], data: [], has_more: false, next_page: null });
    }
    if (sub === 'files') {
      if (subId === undefined) {
        if (method === 'GET') return list([...state.files.values()], query, true);
        return method === 'POST' ? json(this.#addVectorStoreFile(state, requireString(body, 'file_id'))) : undefined;
      }
      const file = state.files.get(subId);
      if (file === undefined) throw notFound('vector store file', subId);
      if (method === 'GET') return json(file);
      if (method === 'DELETE') {
        state.files.delete(subId);
        return json({ id: subId, object: 'vector_store.file.deleted', deleted: true });
      }
      return undefined;
    }
    if (sub === 'file_batches') {
      const batch = (fileIds: readonly string[], batchId = randomId('vsfb')): JsonObject => ({
        id: batchId,
        object: 'vector_store.files_batch',
        created_at: now(),
        vector_store_id: id,
        status: 'completed',
        file_counts: { in_progress: 0, completed: fileIds.length, failed: 0, cancelled: 0, total: fileIds.length },
      });
      if (subId === undefined && method === 'POST') {
        const fileIds = Array.isArray(body?.file_ids) ? body.file_ids.map(String) : [];
        if (fileIds.length === 0) throw validationError("'file_ids' is a required property", 'file_ids');
        for (const fileId of fileIds) this.#addVectorStoreFile(state, fileId);
        return json(batch(fileIds));
      }
      if (subId === undefined) return undefined;
      if (action === undefined && method === 'GET') return json(batch([...state.files.keys()], subId));
      if (action === 'cancel' && method === 'POST') return json({ ...batch([...state.files.keys()], subId), status: 'cancelled' });
      if (action === 'files' && method === 'GET') return list([...state.files.values()], query, true);
    }
    return undefined;
  }

  #addVectorStoreFile(state: { store: JsonObject; files: Map<string, JsonObject> }, fileId: string): JsonObject {
    const stored = this.#files.get(fileId);
    if (stored === undefined) throw notFound('file', fileId);
    const file = { id: fileId, object: 'vector_store.file', created_at: now(), vector_store_id: state.store.id, status: 'completed', usage_bytes: stored.bytes.length, last_error: null };
    state.files.set(fileId, file);
    const counts = state.store.file_counts as Record<string, number>;
    counts.completed = state.files.size;
    counts.total = state.files.size;
    state.store.usage_bytes = [...state.files.values()].reduce((n, f) => n + Number(f.usage_bytes), 0);
    return file;
  }
}

