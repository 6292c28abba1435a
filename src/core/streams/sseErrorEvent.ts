/**
 * An event stream whose upstream breaks off ends the way OpenAI's own streams report a failure: a last event
 * `data: {"error": {...}}`, then a normal end. The OpenAI SDKs raise it as an `APIError` (openai-node
 * `Stream.fromSSEResponse`: any event whose data has `error`), where a cut connection might be read by some
 * clients as a complete answer, and where a host may not cut it at all (under Functions the library leaves a
 * failed body's response open until the host's forward times out).
 *
 * The event has to start on an event boundary: when the stream broke off inside an event, that event is ended
 * first (a blank line), so the client sees a malformed event and then the error, never the two merged.
 */
import { catalogueErrorBody } from '../errors/catalogue';
import type { BodyStage } from './bodyStage';

const LF = 0x0a;
const CR = 0x0d;
const encoder = new TextEncoder();

export const STREAM_BROKEN_MESSAGE = 'The upstream stream broke off before its end; the answer is incomplete.';

export function createSseErrorEventStage(): BodyStage {
  // The last three bytes passed on (last1 the very last); -1 before any.
  let last3 = -1;
  let last2 = -1;
  let last1 = -1;
  return {
    onChunk(chunk) {
      for (let i = Math.max(0, chunk.byteLength - 3); i < chunk.byteLength; i++) {
        last3 = last2;
        last2 = last1;
        last1 = chunk[i] as number;
      }
    },
    endFailure() {
      const body = catalogueErrorBody('upstream_stream_broken', STREAM_BROKEN_MESSAGE);
      // Nothing sent yet, or the last event ended: LF LF, or LF CR LF.
      const atBoundary = last1 === -1 || (last1 === LF && (last2 === LF || (last2 === CR && last3 === LF)));
      return encoder.encode(`${atBoundary ? '' : '\n\n'}data: ${JSON.stringify(body)}\n\n`);
    },
  };
}
