/**
 * Node streams as web streams, with backpressure counted in bytes (`readableToWeb`), and a stage applied to any
 * web body (`applyStage`), for bodies that are not a `StagedNodeBody`.
 */
import type { Readable } from 'node:stream';
import { clientClosedBody } from '../http/proxyRequest';
import { asList, type BodyOutcome, type BodyStage, failWebBody, flushStages, runStages } from './bodyStage';

/** Bytes read ahead of the consumer; past this the source is paused. */
const HIGH_WATER_MARK = 256 * 1024;

export interface ReadableToWebOptions {
  /**
   * What cancelling the web stream does to the source: `destroy` it (an upstream response, whose connection
   * should close), or only stop reading (a server's request body, which Node drains after the response is sent,
   * so the client still receives that response).
   */
  onCancel: 'destroy' | 'stop-reading';
  /**
   * Read only when the consumer reads (true for response bodies, so that stages added after the stream is made
   * see every byte); read ahead up to HIGH_WATER_MARK otherwise.
   */
  readOnDemand?: boolean;
  /** Stages every chunk runs through on its way out (a `StagedNodeBody`'s). */
  stages?: readonly BodyStage[];
}

/**
 * A Node readable as a web stream that reads only as fast as it is consumed. (Node 20's Readable.toWeb counts
 * each chunk, not each byte, against a mark of 16,384 chunks, so it never pauses: a whole upload piles up in
 * memory while the upstream connection is opened.) Used for request bodies from the local host and for
 * upstream response bodies, so a slow client slows the upstream read instead of filling memory.
 */
export function readableToWeb(readable: Readable, options: ReadableToWebOptions): ReadableStream<Uint8Array> {
  let settled = false;
  // A server's request body that breaks off means its client went away: an abort (logged 499), not a failure.
  const broken = (cause?: Error): Error =>
    options.onCancel === 'stop-reading' ? clientClosedBody(cause) : (cause ?? new Error('The stream closed before its end.'));
  const stages = options.stages ?? [];
  const end = (outcome: BodyOutcome): void => {
    settled = true;
    for (const stage of stages) stage.onEnd?.(outcome);
  };
  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const fail = (error: unknown): void => {
          failWebBody(controller, stages, error);
          end('error');
        };
        readable.pause();
        readable.on('data', (chunk: Buffer) => {
          if (settled) return;
          const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
          let out: readonly Uint8Array[];
          try {
            out = stages.length === 0 ? [bytes] : runStages(stages, 0, [bytes]);
          } catch (error) {
            // A stage that fails fails this body, not the process (this runs in an event handler).
            fail(error);
            readable.destroy();
            return;
          }
          for (const piece of out) controller.enqueue(piece);
          // Pause only once something was handed on: a chunk a stage kept (half an SSE event) satisfies no read,
          // and a paused source would then leave that read waiting for ever.
          if (out.length > 0 && (controller.desiredSize ?? 0) <= 0) readable.pause();
        });
        readable.once('end', () => {
          if (settled) return;
          try {
            for (const out of flushStages(stages)) controller.enqueue(out);
            controller.close();
            end('complete');
          } catch (error) {
            fail(error);
          }
        });
        readable.on('error', (error) => {
          if (settled) return;
          fail(options.onCancel === 'stop-reading' ? broken(error) : error);
        });
        readable.once('close', () => {
          if (settled || readable.readableEnded) return;
          fail(broken());
        });
      },
      pull() {
        readable.resume();
      },
      cancel(reason) {
        if (!settled) end('cancelled');
        if (options.onCancel === 'destroy') readable.destroy(reason instanceof Error ? reason : undefined);
        else readable.pause();
      },
    },
    { highWaterMark: options.readOnDemand === true ? 0 : HIGH_WATER_MARK, size: (chunk) => chunk.byteLength },
  );
  return stream;
}

/**
 * The same work as a stage, for a body that is not a `StagedNodeBody`: a stream that reads `body` only when it
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
