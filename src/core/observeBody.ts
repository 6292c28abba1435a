/**
 * Watches a response body to its end without buffering it, so the request's log line can say when its first
 * byte went out, how it ended (completed, or cancelled by a client that hung up) and how long it took.
 */
import type { BodyOutcome } from './nodeStreams';

export type { BodyOutcome };

export interface BodyObserver {
  onFirstChunk?: () => void;
  onEnd: (outcome: BodyOutcome) => void;
}

export function observeBody(body: ReadableStream<Uint8Array>, observer: BodyObserver): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let ended = false;
  let first = true;
  const end = (outcome: BodyOutcome): void => {
    if (ended) return;
    ended = true;
    observer.onEnd(outcome);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            controller.close();
            end('complete');
            return;
          }
          if (first) {
            first = false;
            observer.onFirstChunk?.();
          }
          controller.enqueue(value);
        } catch (error) {
          controller.error(error);
          end('error');
        }
      },
      cancel(reason) {
        end('cancelled');
        return reader.cancel(reason);
      },
    },
    // Pull only when the consumer asks, so chunks are not queued here ahead of the client.
    { highWaterMark: 0 },
  );
}
