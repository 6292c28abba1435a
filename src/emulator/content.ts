/**
 * Deterministic content for the emulator: replies that echo the request, tool calls built from the tool's JSON
 * schema, embeddings derived from a hash of the input, and Azure's content-filter annotations.
 */
import { createHash } from 'node:crypto';

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A rough token count (words and punctuation), good enough for usage numbers that add up. */
export function countTokens(text: string): number {
  return text.match(/\w+|[^\s\w]/g)?.length ?? 0;
}

/** Splits a reply into stream pieces, one "token" (a word with its leading blank) each. */
export function tokenPieces(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

/** The text of a message's content, a string or an array of content parts. */
export function contentText(content: unknown): { text: string; images: number } {
  if (typeof content === 'string') return { text: content, images: 0 };
  if (!Array.isArray(content)) return { text: '', images: 0 };
  let text = '';
  let images = 0;
  for (const part of content) {
    if (!isObject(part)) continue;
    if (part.type === 'text' && typeof part.text === 'string') text += (text === '' ? '' : ' ') + part.text;
    if (part.type === 'image_url') images++;
  }
  return { text, images };
}

export function promptText(messages: readonly unknown[]): string {
  return messages.map((m) => (isObject(m) ? contentText(m.content).text : '')).join('\n');
}

const SAFE = { filtered: false, severity: 'safe' } as const;

export function contentFilterResults(): JsonObject {
  return { hate: SAFE, self_harm: SAFE, sexual: SAFE, violence: SAFE };
}

export function promptFilterResults(promptCount = 1): JsonObject[] {
  return Array.from({ length: promptCount }, (_, index) => ({
    prompt_index: index,
    content_filter_results: { ...contentFilterResults(), jailbreak: { filtered: false, detected: false } },
  }));
}

/** The reply for a chat request: an echo of the last user turn, so tests can see what arrived. */
export function chatReply(deployment: string, messages: readonly unknown[]): string {
  const last = [...messages].reverse().find((m) => isObject(m) && m.role !== 'system');
  if (isObject(last) && last.role === 'tool') {
    return `Tool result received: ${contentText(last.content).text}`;
  }
  const { text, images } = isObject(last) ? contentText(last.content) : { text: '', images: 0 };
  const seen = images > 0 ? ` I received ${images} image${images === 1 ? '' : 's'}.` : '';
  const echo = text.length > 400 ? `${text.slice(0, 400)}...` : text;
  return `This is the Azure OpenAI emulator (deployment ${deployment}). You said: ${echo}.${seen}`;
}

/** Arguments for a function call, filled from the schema's required properties. */
export function argumentsFor(parameters: unknown): JsonObject {
  const args: JsonObject = {};
  if (!isObject(parameters) || !isObject(parameters.properties)) return args;
  const required = Array.isArray(parameters.required) ? parameters.required : Object.keys(parameters.properties);
  for (const name of required) {
    if (typeof name !== 'string') continue;
    const property = parameters.properties[name];
    const type = isObject(property) ? property.type : undefined;
    if (isObject(property) && Array.isArray(property.enum) && property.enum.length > 0) args[name] = property.enum[0];
    else if (type === 'number' || type === 'integer') args[name] = 1;
    else if (type === 'boolean') args[name] = true;
    else if (type === 'array') args[name] = [];
    else if (type === 'object') args[name] = {};
    else args[name] = 'emulated';
  }
  return args;
}

export interface ChosenTool {
  name: string;
  parameters: unknown;
}

/** The tool the model "decides" to call, or undefined for a text reply. */
export function chooseTool(body: JsonObject): ChosenTool | undefined {
  const tools = Array.isArray(body.tools) ? body.tools.filter(isObject) : [];
  if (tools.length === 0 || body.tool_choice === 'none') return undefined;
  const messages: unknown[] = Array.isArray(body.messages) ? body.messages : [];
  const last = messages[messages.length - 1];
  if (isObject(last) && last.role === 'tool') return undefined;
  const named = isObject(body.tool_choice) && isObject(body.tool_choice.function) ? body.tool_choice.function.name : undefined;
  const tool = tools.find((t) => isObject(t.function) && (named === undefined || t.function.name === named)) ?? tools[0];
  const fn = isObject(tool?.function) ? tool.function : {};
  return { name: typeof fn.name === 'string' ? fn.name : 'tool', parameters: fn.parameters };
}

/** A unit vector derived from the text, so equal inputs give equal embeddings. */
export function embeddingFor(text: string, dimensions: number): number[] {
  const vector: number[] = [];
  let block = createHash('sha256').update(text).digest();
  while (vector.length < dimensions) {
    for (let i = 0; i + 1 < block.length && vector.length < dimensions; i += 2) {
      vector.push((block.readUInt16LE(i) / 65535) * 2 - 1);
    }
    block = createHash('sha256').update(block).digest();
  }
  const norm = Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0)) || 1;
  return vector.map((v) => v / norm);
}

/** OpenAI's `encoding_format: "base64"`: the float32 little-endian bytes, base64-encoded. */
export function base64Embedding(vector: readonly number[]): string {
  const buffer = Buffer.alloc(vector.length * 4);
  vector.forEach((v, i) => buffer.writeFloatLE(v, i * 4));
  return buffer.toString('base64');
}

export function randomId(prefix: string): string {
  return `${prefix}-${createHash('sha256').update(`${Date.now()}:${Math.random()}`).digest('base64url').slice(0, 29)}`;
}
