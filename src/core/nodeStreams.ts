/**
 * Node streams as web streams, with backpressure counted in bytes, and stages that work on each chunk inside
 * the one stream instead of a chain of streams.
 *
 * Each web stream costs a good deal to make (and each pipeThrough makes three), which on a small call is more
 * than the rest of the proxy's work. So a response body made here carries a list of stages (the usage reader,
 * the SSE filter, the end-of-body observer) that handlers add with `addBodyStage`; a body from anywhere else
 * gets the same work from ordinary TransformStreams.
 */
import type { Readable } from 'node:stream';

/** Bytes read ahead of the consumer; past this the source is paused. */
const HIGH_WATER_MARK = 256 * 1024;

export type BodyOutcome = 'complete' | 'cancelled' | 'error';

export interface BodyStage {
  /** Replaces one chunk with what this stage passes on (none, one, or several chunks). */
  transform?(chunk: Uint8Array): Uint8Array | readonly Uint8Array[] | undefined;
  /** At the end of the body: what this stage still holds. */
  flush?(): Uint8Array | readonly Uint8Array[] | undefined;
  /** Sees each chunk as it leaves this stage. */
  onChunk?(chunk: Uint8Array): void;
  onEnd?(outcome: BodyOutcome): void;
}

const stagesOf = new WeakMap<ReadableStream<Uint8Array>, BodyStage[]>();

/**
 * Adds a stage to a body made by `readableToWeb`, before anything has been read from it; false for any other
 * body (the caller then pipes it through a TransformStream instead).
 */
export function addBodyStage(body: ReadableStream<Uint8Array>, stage: BodyStage): boolean {
  const stages = stagesOf.get(body);
  if (stages === undefined) return false;
  stages.push(stage);
  return true;
}

function asList(out: Uint8Array | readonly Uint8Array[] | undefined): readonly Uint8Array[] {
  if (out === undefined) return [];
  return out instanceof Uint8Array ? [out] : out;
}

/** Runs chunks through the stages from `from` on. */
function runStages(stages: readonly BodyStage[], from: number, chunks: readonly Uint8Array[]): readonly Uint8Array[] {
  let current = chunks;
  for (let i = from; i < stages.length; i++) {
    const stage = stages[i] as BodyStage;
    if (stage.transform !== undefined) current = current.flatMap((chunk) => asList(stage.transform?.(chunk)));
    if (stage.onChunk !== undefined) for (const chunk of current) stage.onChunk(chunk);
  }
  return current;
}

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
    options.onCancel === 'stop-reading'
      ? Object.assign(new Error('The client closed the request body.', { cause }), { name: 'AbortError' })
      : (cause ?? new Error('The stream closed before its end.'));
  const stages: BodyStage[] = [];
  const end = (outcome: BodyOutcome): void => {
    settled = true;
    for (const stage of stages) stage.onEnd?.(outcome);
  };
  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        readable.pause();
        readable.on('data', (chunk: Buffer) => {
          if (settled) return;
          const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
          const out = stages.length === 0 ? [bytes] : runStages(stages, 0, [bytes]);
          for (const piece of out) controller.enqueue(piece);
          // Pause only once something was handed on: a chunk a stage kept (half an SSE event) satisfies no read,
          // and a paused source would then leave that read waiting for ever.
          if (out.length > 0 && (controller.desiredSize ?? 0) <= 0) readable.pause();
        });
        readable.once('end', () => {
          if (settled) return;
          try {
            stages.forEach((stage, index) => {
              const flushed = asList(stage.flush?.());
              if (stage.onChunk !== undefined) for (const chunk of flushed) stage.onChunk(chunk);
              for (const out of runStages(stages, index + 1, flushed)) controller.enqueue(out);
            });
            controller.close();
            end('complete');
          } catch (error) {
            controller.error(error);
            end('error');
          }
        });
        readable.once('error', (error) => {
          if (settled) return;
          controller.error(options.onCancel === 'stop-reading' ? broken(error) : error);
          end('error');
        });
        readable.once('close', () => {
          if (settled || readable.readableEnded) return;
          controller.error(broken());
          end('error');
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
  stagesOf.set(stream, stages);
  return stream;
}

/** The same work as a stage, for a body that is not ours: an ordinary TransformStream. */
export function stageAsTransform(stage: BodyStage): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      for (const out of asList(stage.transform === undefined ? chunk : stage.transform(chunk))) {
        stage.onChunk?.(out);
        controller.enqueue(out);
      }
    },
    flush(controller) {
      for (const out of asList(stage.flush?.())) {
        stage.onChunk?.(out);
        controller.enqueue(out);
      }
      stage.onEnd?.('complete');
    },
  });
}

/** Adds a stage to a body: inside it when it is ours, through a TransformStream otherwise. */
export function withStage(body: ReadableStream<Uint8Array>, stage: BodyStage): ReadableStream<Uint8Array> {
  return addBodyStage(body, stage) ? body : body.pipeThrough(stageAsTransform(stage));
}
