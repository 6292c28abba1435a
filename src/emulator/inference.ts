/** The emulator's text operations: chat completions, legacy completions and embeddings, plain and streaming. */
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
import { EmulatorHttpError, json, validationError, type Reply, type SseEvent } from './reply';

export interface ModelDeployment {
  name: string;
  model: string;
  dimensions?: number;
}

export interface InferenceSettings {
  blockedTerms: readonly string[];
  asyncFilterChunks: boolean;
}

/** Azure's 400 for a prompt its content filter blocks, with the filter's findings. */
export function checkContentFilter(prompt: string, settings: InferenceSettings): void {
  if (!settings.blockedTerms.some((term) => prompt.includes(term))) return;
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

export function maxTokens(body: JsonObject): number | undefined {
  const value = body.max_completion_tokens ?? body.max_tokens ?? body.max_output_tokens;
  return typeof value === 'number' && value > 0 ? value : undefined;
}

const includesUsage = (body: JsonObject): boolean => isObject(body.stream_options) && body.stream_options.include_usage === true;

/** Whether a model reasons (o1, o3, o4-mini, gpt-5 but not gpt-5-chat), and so takes what Azure's reasoning deployments take. */
function isReasoningModel(model: string): boolean {
  return /^(o\d|gpt-5(?!-chat)|codex-mini)/.test(model);
}

/** Sampling parameters a reasoning deployment refuses unless they are their default (1). */
const DEFAULT_ONLY = ['temperature', 'top_p'];
/** Parameters a reasoning deployment refuses outright. */
const REFUSED_BY_REASONING = ['max_tokens', 'presence_penalty', 'frequency_penalty', 'logprobs', 'top_logprobs', 'logit_bias'];

/** Azure's 400 for a parameter a reasoning deployment does not take, one parameter at a time, as Azure answers. */
function checkReasoningParameters(deployment: ModelDeployment, body: JsonObject): void {
  if (!isReasoningModel(deployment.model)) return;
  for (const param of REFUSED_BY_REASONING) {
    if (body[param] === undefined) continue;
    const message =
      param === 'max_tokens'
        ? "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."
        : `Unsupported parameter: '${param}' is not supported with this model.`;
    throw new EmulatorHttpError(400, { error: { message, type: 'invalid_request_error', param, code: 'unsupported_parameter' } });
  }
  for (const param of DEFAULT_ONLY) {
    const value = body[param];
    if (value === undefined || value === 1) continue;
    const message = `Unsupported value: '${param}' does not support ${JSON.stringify(value)} with this model. Only the default (1) value is supported.`;
    throw new EmulatorHttpError(400, { error: { message, type: 'invalid_request_error', param, code: 'unsupported_value' } });
  }
}

export function chat(deployment: ModelDeployment, body: JsonObject, settings: InferenceSettings): Reply {
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    throw validationError("'messages' is a required property", 'messages');
  }
  checkReasoningParameters(deployment, body);
  const messages: unknown[] = body.messages;
  const prompt = promptText(messages);
  checkContentFilter(prompt, settings);
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
  const promptTokens = countTokens(prompt) + 7 * messages.length;
  const completionTokens = tool === undefined ? countTokens(reply) * choices : 12;
  const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
  const base = { id: randomId('chatcmpl'), created: Math.floor(Date.now() / 1000), model: deployment.model, system_fingerprint: 'fp_emulator' };

  if (body.stream !== true) {
    return json({
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
  }

  const withUsage = includesUsage(body);
  const chunk = (choice: JsonObject): SseEvent => ({
    data: { ...base, object: 'chat.completion.chunk', choices: [choice], ...(withUsage && { usage: null }) },
  });
  // Azure's first chunk: no choices, only the prompt's filter results.
  const events: SseEvent[] = [{ data: { choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: promptFilterResults() } }];
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
    if (settings.asyncFilterChunks) {
      events.push(chunk({ index, finish_reason: null, content_filter_results: contentFilterResults(), content_filter_offsets: { check_offset: 0, start_offset: 0, end_offset: reply.length } }));
    }
  }
  if (withUsage) events.push({ data: { ...base, object: 'chat.completion.chunk', choices: [], usage } });
  return { kind: 'events', events, done: '[DONE]' };
}

export function completions(deployment: ModelDeployment, body: JsonObject, settings: InferenceSettings): Reply {
  const prompts =
    typeof body.prompt === 'string' ? [body.prompt] : Array.isArray(body.prompt) ? body.prompt.filter((p): p is string => typeof p === 'string') : [];
  if (prompts.length === 0) throw validationError("'prompt' is a required property", 'prompt');
  checkContentFilter(prompts.join('\n'), settings);
  const limit = maxTokens(body) ?? 16;
  const texts = prompts.map((prompt) => {
    const pieces = tokenPieces(` Emulated completion of: ${prompt}`);
    return { text: pieces.slice(0, limit).join(''), finish: pieces.length > limit ? 'length' : 'stop' };
  });
  const promptTokens = countTokens(prompts.join(' '));
  const completionTokens = texts.reduce((n, t) => n + countTokens(t.text), 0);
  const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
  const base = { id: randomId('cmpl'), created: Math.floor(Date.now() / 1000), model: deployment.model, object: 'text_completion' };
  if (body.stream !== true) {
    return json({
      ...base,
      choices: texts.map((t, index) => ({ text: t.text, index, finish_reason: t.finish, logprobs: null, content_filter_results: contentFilterResults() })),
      usage,
      prompt_filter_results: promptFilterResults(prompts.length),
    });
  }
  const events: SseEvent[] = [{ data: { choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: promptFilterResults(prompts.length) } }];
  texts.forEach((t, index) => {
    for (const piece of tokenPieces(t.text)) {
      events.push({ data: { ...base, choices: [{ text: piece, index, finish_reason: null, logprobs: null, content_filter_results: contentFilterResults() }] } });
    }
    events.push({ data: { ...base, choices: [{ text: '', index, finish_reason: t.finish, logprobs: null }] } });
  });
  if (includesUsage(body)) events.push({ data: { ...base, choices: [], usage } });
  return { kind: 'events', events, done: '[DONE]' };
}

function embeddingInputs(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return [];
  if (input.every((i) => typeof i === 'string')) return input;
  if (input.every((i) => typeof i === 'number')) return [JSON.stringify(input)];
  if (input.every(Array.isArray)) return input.map((i) => JSON.stringify(i));
  return [];
}

export function embeddings(deployment: ModelDeployment, body: JsonObject): Reply {
  const inputs = embeddingInputs(body.input);
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
  return json({
    object: 'list',
    data: inputs.map((text, index) => {
      const vector = embeddingFor(text, dimensions);
      return { object: 'embedding', index, embedding: base64 ? base64Embedding(vector) : vector };
    }),
    model: deployment.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
}
