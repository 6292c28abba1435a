/**
 * Azure's chat streams differ from OpenAI's in two kinds of chunk that several ChatGPT-style web UIs crash on
 * (they read `choices[0].delta.content` unguarded):
 *  - the first chunk, `"choices":[]` with only `prompt_filter_results`;
 *  - with the asynchronous content filter, chunks whose choices carry no `delta`, only
 *    `content_filter_results` / `content_filter_offsets`.
 * This transform drops those events and passes every other byte through unchanged, event by event, as soon as
 * each event is complete. The final usage chunk (`"choices":[]` with `usage`) is kept: clients asked for it.
 */
import { isRecord } from '../http/isRecord';
import type { BodyStage } from '../streams/bodyStage';

const LF = 0x0a;
const CR = 0x0d;

/** Keys that a filter-only choice may have; any other key (delta, text, logprobs...) makes it real content. */
const FILTER_ONLY_CHOICE_KEYS = new Set(['index', 'content_filter_results', 'content_filter_offsets', 'finish_reason']);

function isFilterOnlyChoice(choice: unknown): boolean {
  if (!isRecord(choice)) return false;
  if (choice.finish_reason !== undefined && choice.finish_reason !== null) return false;
  return Object.keys(choice).every((key) => FILTER_ONLY_CHOICE_KEYS.has(key));
}

/** Whether one SSE `data:` payload is an Azure-only content-filter chunk. */
export function isFilterOnlyChunk(data: string): boolean {
  // Cheap checks first: ordinary content chunks carry "delta" (chat) or "text" (completions).
  if (!data.includes('"choices"')) return false;
  if (data.includes('"delta"') || data.includes('"text"')) return false;
  let chunk: unknown;
  try {
    chunk = JSON.parse(data);
  } catch {
    return false;
  }
  if (!isRecord(chunk) || !Array.isArray(chunk.choices)) return false;
  if (chunk.choices.length === 0) return chunk.usage === undefined || chunk.usage === null;
  return chunk.choices.every(isFilterOnlyChoice);
}

const decoder = new TextDecoder();

function eventData(event: Uint8Array): string {
  const text = decoder.decode(event);
  let data = '';
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('data:')) data += (data === '' ? '' : '\n') + line.slice(line.charCodeAt(5) === 0x20 ? 6 : 5);
  }
  return data;
}

/** The index just past the first blank line (LF LF, or LF CR LF) at or after `from`, or -1. */
function endOfEvent(buffer: Uint8Array, from: number): number {
  for (let i = Math.max(from, 1); i < buffer.length; i++) {
    if (buffer[i] !== LF) continue;
    if (buffer[i - 1] === LF) return i + 1;
    if (buffer[i - 1] === CR && i >= 2 && buffer[i - 2] === LF) return i + 1;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a, 0);
  joined.set(b, a.length);
  return joined;
}

/**
 * Whether an SSE payload is the usage-only final chunk (`"choices":[]` with `usage`): the proxy drops it when it
 * asked for usage itself (to log it) and the caller had not.
 */
export function isUsageOnlyChunk(data: string): boolean {
  if (!data.includes('"usage"') || !data.includes('"choices"')) return false;
  let chunk: unknown;
  try {
    chunk = JSON.parse(data);
  } catch {
    return false;
  }
  return isRecord(chunk) && Array.isArray(chunk.choices) && chunk.choices.length === 0 && isRecord(chunk.usage);
}

/**
 * The most an event may hold before its end: an Azure chat event is a few KB. An upstream that sends more without
 * a blank line is not streaming events, and holding it would grow without bound.
 */
export const MAX_PENDING_EVENT_BYTES = 4 * 1024 * 1024;

export class OversizedEventError extends Error {
  override readonly name = 'OversizedEventError';
}

/** An SSE comment line: no event, only bytes that make the response start. */
export const STREAM_OPENED_COMMENT = new TextEncoder().encode(':\n\n');

function join(parts: readonly Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const joined = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}

/**
 * Drops the SSE events whose `data:` payload `drop` matches; every other byte passes unchanged, event by event.
 * An unfinished event waits as a list of pieces, joined once when its end arrives (joining on every chunk would be
 * quadratic in the event's size), and fails the body past MAX_PENDING_EVENT_BYTES.
 */
export function createSseEventFilterStage(drop: (data: string) => boolean): BodyStage {
  let parts: Uint8Array[] = [];
  let pendingLength = 0;
  let passedAny = false;
  return {
    transform(chunk) {
      if (pendingLength > 0) {
        // Is the waiting event's end in this chunk? Look with the two bytes before it, for a blank line split
        // across network chunks.
        const last = parts[parts.length - 1]!;
        const context = last.subarray(Math.max(0, last.length - 2));
        if (endOfEvent(concat(context, chunk), 1) < 0) {
          pendingLength += chunk.length;
          if (pendingLength > MAX_PENDING_EVENT_BYTES) throw new OversizedEventError(`an upstream event grew past ${MAX_PENDING_EVENT_BYTES} bytes without ending`);
          // A copy (a chunk may be a Buffer, whose slice is a view of the whole network chunk).
          parts.push(new Uint8Array(chunk));
          return [];
        }
      }
      const resumeAt = Math.max(pendingLength - 2, 0);
      const buffer = pendingLength === 0 ? chunk : join([...parts, chunk], pendingLength + chunk.length);
      const out: Uint8Array[] = [];
      let start = 0;
      let keepFrom = 0;
      let end = endOfEvent(buffer, resumeAt);
      while (end >= 0) {
        const event = buffer.subarray(start, end);
        if (drop(eventData(event))) {
          if (start > keepFrom) out.push(buffer.subarray(keepFrom, start));
          // The stream's first event dropped (Azure's prompt-filter chunk): an SSE comment, which every SSE parser
          // skips, goes in its place, so the response starts now. Azure's Functions host (YARP) sends the response
          // headers only with the first body bytes, and a reasoning model's first content may be seconds away.
          if (!passedAny && out.length === 0) out.push(STREAM_OPENED_COMMENT);
          passedAny = true;
          keepFrom = end;
        }
        start = end;
        end = endOfEvent(buffer, start + 1);
      }
      // What passes is a view of this chunk (nothing writes to it again); what waits is copied, so that half an
      // event does not keep a whole network chunk alive.
      if (start > keepFrom) out.push(buffer.subarray(keepFrom, start));
      if (start > 0) passedAny = true;
      const rest = new Uint8Array(buffer.subarray(start));
      parts = rest.length > 0 ? [rest] : [];
      pendingLength = rest.length;
      if (pendingLength > MAX_PENDING_EVENT_BYTES) throw new OversizedEventError(`an upstream event grew past ${MAX_PENDING_EVENT_BYTES} bytes without ending`);
      return out;
    },
    flush() {
      return pendingLength > 0 ? join(parts, pendingLength) : undefined;
    },
  };
}
