/**
 * A server's request body as a web stream, with backpressure counted in bytes (`readableToWeb`), and a stage
 * applied to any web body (`applyStage`), for bodies that are not a `StagedBody`.
 */
import type { Readable } from 'node:stream';
import { clientClosedBody } from '../http/proxyRequest';
import { asList, type BodyOutcome, type BodyStage, failWebBody } from './bodyStage';

/** Bytes read ahead of the consumer; past this the source is paused. */
const HIGH_WATER_MARK = 256 * 1024;

/**
 * A server's request body (a Node readable) as a web stream that reads only as fast as it is consumed. (Node 20's
 * Readable.toWeb counts each chunk, not each byte, against a mark of 16,384 chunks, so it never pauses: a whole
 * upload piles up in memory while the upstream connection is opened.) A body that breaks off means its client went
 * away: an abort (logged 499), not a failure. Cancelling the stream only stops reading: Node drains the rest after
 * the response is sent, so the client still receives that response.
 */
export function readableToWeb(readable: Readable): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const fail = (error: Error): void => {
          settled = true;
          controller.error(error);
        };
        readable.pause();
        readable.on('data', (chunk: Buffer) => {
          if (settled) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) readable.pause();
        });
        readable.once('end', () => {
          if (settled) return;
          settled = true;
          controller.close();
        });
        readable.on('error', (error) => {
          if (!settled) fail(clientClosedBody(error));
        });
        readable.once('close', () => {
          if (!settled && !readable.readableEnded) fail(clientClosedBody());
        });
      },
      pull() {
        readable.resume();
      },
      cancel() {
        settled = true;
        readable.pause();
      },
    },
    { highWaterMark: HIGH_WATER_MARK, size: (chunk) => chunk.byteLength },
  );
}

/**
 * The same work as a stage, for a body that is not a `StagedBody`: a stream that reads `body` only when it
 * is read itself (nothing is queued ahead of the consumer), and tells the stage how the body ended, including
 * when its reader cancels it (a TransformStream would not say).
 */
export function applyStage(body: ReadableStream<Uint8Array>, stage: BodyStage): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let ended = false;
  const end = (outcome: BodyOutcome): void => {
    if (ended) return;
    ended = true;
    stage.onEnd?.(outcome);
  };
  const pass = (controller: ReadableStreamDefaultController<Uint8Array>, chunks: readonly Uint8Array[]): void => {
    for (const chunk of chunks) {
      stage.onChunk?.(chunk);
      controller.enqueue(chunk);
    }
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          // A chunk the stage keeps back (half an SSE event) satisfies no read: read on until one passes.
          for (;;) {
            const { done, value } = await reader.read();
            if (done) {
              pass(controller, asList(stage.flush?.()));
              controller.close();
              end('complete');
              return;
            }
            const out = stage.transform === undefined ? [value] : asList(stage.transform(value));
            pass(controller, out);
            if (out.length > 0) return;
          }
        } catch (error) {
          failWebBody(controller, [stage], error);
          end('error');
        }
      },
      cancel(reason) {
        end('cancelled');
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
