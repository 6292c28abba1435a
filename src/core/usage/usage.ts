/**
 * Token usage read from a response as it passes, without holding it: the last few KiB are kept, and when the
 * body ends the last non-null `"usage"` object in them is read. That is where every Azure OpenAI answer puts it:
 * at the end of a JSON completion or embedding, in the final chunk of a stream (with
 * `stream_options.include_usage`), and in the Responses API's `response.completed` event.
 */
import { isRecord } from '../http/isRecord';
import { endOfValue } from '../http/jsonModel';
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
  const prompt = tokens(usage.prompt_tokens) ?? tokens(usage.input_tokens);
  const completion = tokens(usage.completion_tokens) ?? tokens(usage.output_tokens) ?? 0;
  if (prompt === undefined) return undefined;
  return { prompt, completion, total: tokens(usage.total_tokens) ?? prompt + completion };
}

/** The last non-null usage object in a text (a body's tail). */
export function lastUsage(text: string): TokenUsage | undefined {
  return lastUsageIn(Buffer.from(text, 'utf8'));
}

const USAGE_KEY = Buffer.from('"usage"');
/** The most of a body read after a `"usage"` key: a usage object, with its details, is a few hundred bytes. */
const USAGE_BYTES = 4096;

/**
 * The last non-null usage object in a body's tail, found in its bytes: only what follows the key is decoded, not
 * the whole body (a JSON answer is read through once per request, so this is on every request's path).
 */
function lastUsageIn(bytes: Buffer): TokenUsage | undefined {
  for (let at = bytes.lastIndexOf(USAGE_KEY); at >= 0; at = at === 0 ? -1 : bytes.lastIndexOf(USAGE_KEY, at - 1)) {
    const text = bytes.toString('utf8', at + USAGE_KEY.length, Math.min(bytes.length, at + USAGE_KEY.length + USAGE_BYTES));
    let i = 0;
    // Blanks and the colon between the key and its value.
    for (let c = text.charCodeAt(i); c === 0x3a || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = text.charCodeAt(++i));
    if (text[i] !== '{') continue; // null, or cut off
    try {
      const usage = toTokenUsage(JSON.parse(text.slice(i, endOfValue(text, i))));
      if (usage !== undefined) return usage;
    } catch {
      // cut off at the end, or not JSON after all: look further back
    }
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
      onUsage(lastUsageIn(only === undefined ? Buffer.concat(kept) : Buffer.from(only.buffer, only.byteOffset, only.byteLength)));
    },
  };
}

const EMPTY = new Uint8Array(0);
