/**
 * Token usage read from a response as it passes, without holding it: the last few KiB are kept, and when the
 * body ends the last non-null `"usage"` object in them is read. That is where every Azure OpenAI answer puts it:
 * at the end of a JSON completion or embedding, in the final chunk of a stream (with
 * `stream_options.include_usage`), and in the Responses API's `response.completed` event.
 */
// Node's own binding, not the global: from Node 22 the global `Buffer` is a getter, called on each use.
import { Buffer } from 'node:buffer';
import { isRecord } from '../http/isRecord';
import { BACKSLASH, CLOSE_BRACE, COLON, COMMA, endOfString, endOfValue, OPEN_BRACE, QUOTE, skipBlanks } from '../http/jsonBytes';
import type { BodyStage } from '../streams/bodyStage';

export interface TokenUsage {
  prompt: number;
  completion: number;
  total: number;
}

const TAIL_BYTES = 32 * 1024;

function tokens(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Reads chat-style (`prompt_tokens`) and Responses-style (`input_tokens`) usage alike. */
export function toTokenUsage(usage: unknown): TokenUsage | undefined {
  if (!isRecord(usage)) return undefined;
  return usageOfCounts(tokens(usage.prompt_tokens), tokens(usage.completion_tokens), tokens(usage.total_tokens), tokens(usage.input_tokens), tokens(usage.output_tokens));
}

/**
 * A usage from its token fields' counts (each a finite number or absent), however they were read: chat's names
 * first, the Responses API's in their absence; no prompt count, no usage.
 */
function usageOfCounts(
  promptTokens: number | undefined,
  completionTokens: number | undefined,
  totalTokens: number | undefined,
  inputTokens: number | undefined,
  outputTokens: number | undefined,
): TokenUsage | undefined {
  const prompt = promptTokens ?? inputTokens;
  if (prompt === undefined) return undefined;
  const completion = completionTokens ?? outputTokens ?? 0;
  return { prompt, completion, total: totalTokens ?? prompt + completion };
}

/** The last non-null usage object in a text (a body's tail). */
export function lastUsage(text: string): TokenUsage | undefined {
  return lastUsageIn(Buffer.from(text, 'utf8'));
}

const MINUS = 0x2d;
/** `u`, the first letter of `"usage"`, looked for natively (memrchr) before the rest is compared. */
const U = 0x75;

/** Where the last `"usage"` that starts before `end` starts; -1 if none. (Buffer.lastIndexOf with a Buffer is 3x slower.) */
function lastUsageKey(bytes: Buffer, end: number): number {
  // Never a negative offset: lastIndexOf counts one from the buffer's end.
  for (let i = end < 2 ? -1 : bytes.lastIndexOf(U, end - 1); i > 0; i = i < 2 ? -1 : bytes.lastIndexOf(U, i - 1)) {
    if (bytes[i - 1] === QUOTE && bytes[i + 1] === 0x73 && bytes[i + 2] === 0x61 && bytes[i + 3] === 0x67 && bytes[i + 4] === 0x65 && bytes[i + 5] === QUOTE) return i - 1;
  }
  return -1;
}

/** The usage fields read, in the order `usageOfCounts` takes them. */
const TOKEN_FIELDS = ['prompt_tokens', 'completion_tokens', 'total_tokens', 'input_tokens', 'output_tokens'].map((name) => Buffer.from(name));

/** Which of TOKEN_FIELDS the key between `from` and `to` is; -1 for any other. */
function tokenField(bytes: Buffer, from: number, to: number): number {
  next: for (let field = 0; field < TOKEN_FIELDS.length; field++) {
    const name = TOKEN_FIELDS[field] as Buffer;
    if (name.length !== to - from) continue;
    for (let j = 0; j < name.length; j++) if (bytes[from + j] !== name[j]) continue next;
    return field;
  }
  return -1;
}

/**
 * The token counts of the usage object whose `{` is at `start`, read from its bytes: its top-level members are
 * stepped over (nested ones skipped whole) and only the token fields' numbers decoded, since making the object with
 * JSON.parse cost as much as the rest of the read. Read as JSON.parse and toTokenUsage would (the last of a repeated
 * field wins; a field that is not a number counts as absent); an object cut off, or not of JSON's shape, is none.
 */
function usageAt(bytes: Buffer, start: number): TokenUsage | undefined {
  const values: Array<number | undefined> = [undefined, undefined, undefined, undefined, undefined];
  let i = skipBlanks(bytes, start + 1);
  if (bytes[i] !== CLOSE_BRACE) {
    for (;;) {
      if (bytes[i] !== QUOTE) return undefined;
      const keyEnd = endOfString(bytes, i);
      if (keyEnd < 0) return undefined;
      // An escaped key (never Azure's): read as JSON.parse reads it.
      for (let j = i + 1; j < keyEnd; j++) if (bytes[j] === BACKSLASH) return usageParsed(bytes, start);
      const field = tokenField(bytes, i + 1, keyEnd - 1);
      i = skipBlanks(bytes, keyEnd);
      if (bytes[i] !== COLON) return undefined;
      i = skipBlanks(bytes, i + 1);
      const valueEnd = endOfValue(bytes, i);
      if (valueEnd < 0) return undefined;
      if (field >= 0) {
        const c = bytes[i] as number;
        const number = c === MINUS || (c >= 0x30 && c <= 0x39) ? numberAt(bytes, i, valueEnd) : undefined;
        if (Number.isNaN(number)) return undefined;
        // As toTokenUsage: a number too large to be finite (1e999) counts as absent.
        values[field] = number !== undefined && Number.isFinite(number) ? number : undefined;
      }
      i = skipBlanks(bytes, valueEnd);
      if (bytes[i] === CLOSE_BRACE) break;
      if (bytes[i] !== COMMA) return undefined;
      i = skipBlanks(bytes, i + 1);
    }
  }
  const [promptTokens, completionTokens, totalTokens, inputTokens, outputTokens] = values;
  return usageOfCounts(promptTokens, completionTokens, totalTokens, inputTokens, outputTokens);
}

/**
 * The JSON number between `from` and `to`, as Number() reads its text (NaN if it is not one). A count, all digits
 * and short enough to be exact, is added up from its digits: decoding each one to a string first cost more.
 */
function numberAt(bytes: Buffer, from: number, to: number): number {
  if (to - from > 15) return Number(bytes.toString('latin1', from, to));
  let value = 0;
  for (let j = from; j < to; j++) {
    const digit = (bytes[j] as number) - 0x30;
    if (digit < 0 || digit > 9) return Number(bytes.toString('latin1', from, to));
    value = value * 10 + digit;
  }
  return value;
}

/** The usage object at `start` made with JSON.parse: for what the byte reader leaves to it. */
function usageParsed(bytes: Buffer, start: number): TokenUsage | undefined {
  const end = endOfValue(bytes, start);
  if (end < 0) return undefined;
  try {
    return toTokenUsage(JSON.parse(bytes.toString('utf8', start, end)));
  } catch {
    return undefined;
  }
}

/**
 * The last non-null usage object in a body's tail, found in its bytes: only the object is read, not the whole
 * body (a JSON answer is read through once per request, so this is on every request's path).
 */
function lastUsageIn(bytes: Buffer): TokenUsage | undefined {
  for (let at = lastUsageKey(bytes, bytes.length); at >= 0; at = lastUsageKey(bytes, at)) {
    let i = skipBlanks(bytes, at + 7);
    if (bytes[i] !== COLON) continue; // a string "usage", not a key
    i = skipBlanks(bytes, i + 1);
    if (bytes[i] !== OPEN_BRACE) continue; // null, or cut off
    const usage = usageAt(bytes, i);
    if (usage !== undefined) return usage;
  }
  return undefined;
}

/**
 * A stage that tells `onUsage` the body's usage when it ends (not when it is cancelled). It holds the chunks
 * that make up the body's last TAIL_BYTES (references, not copies: they are in flight anyway), and joins them
 * once, at the end, so a long stream costs nothing per chunk beyond a push.
 */
export function createUsageStage(onUsage: (usage: TokenUsage | undefined) => void): BodyStage {
  let chunks: Uint8Array[] = [];
  let first = 0;
  let held = 0;
  return {
    onChunk(chunk) {
      chunks.push(chunk);
      held += chunk.byteLength;
      // Let go of the oldest chunks while the rest still hold TAIL_BYTES.
      while (first < chunks.length - 1 && held - (chunks[first] as Uint8Array).byteLength >= TAIL_BYTES) {
        held -= (chunks[first] as Uint8Array).byteLength;
        chunks[first++] = EMPTY;
      }
      if (first > 64 && first * 2 > chunks.length) {
        chunks = chunks.slice(first);
        first = 0;
      }
    },
    onEnd(outcome) {
      if (outcome !== 'complete') return;
      const kept = chunks.slice(first);
      // Only the end of the oldest kept chunk is needed.
      if (kept[0] !== undefined && held > TAIL_BYTES) kept[0] = kept[0].subarray(held - TAIL_BYTES);
      // A small answer is one chunk: read in place, not copied.
      const only = kept.length === 1 ? (kept[0] as Uint8Array) : undefined;
      // A Node body's chunk is a Buffer already: read as it is, not wrapped in another view.
      const bytes = only === undefined ? Buffer.concat(kept) : Buffer.isBuffer(only) ? only : Buffer.from(only.buffer, only.byteOffset, only.byteLength);
      onUsage(lastUsageIn(bytes));
    },
  };
}

const EMPTY = new Uint8Array(0);
