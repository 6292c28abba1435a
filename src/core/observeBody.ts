/**
 * Watches a response body to its end without buffering it, so the request's log line can say how it ended
 * (completed, or cancelled by a client that hung up) and how long the whole response took.
 */
export type BodyOutcome = 'complete' | 'cancelled' | 'error';

export function observeBody(
  body: ReadableStream<Uint8Array>,
  onEnd: (outcome: BodyOutcome) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let ended = false;
  const end = (outcome: BodyOutcome): void => {
    if (ended) return;
    ended = true;
    onEnd(outcome);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            controller.close();
            end('complete');
          } else {
            controller.enqueue(value);
          }
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
