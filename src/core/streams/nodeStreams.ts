/**
 * Node streams as web streams, with backpressure counted in bytes, and stages that work on each chunk inside
 * the one stream instead of a chain of streams.
 *
 * Each web stream costs a good deal to make (and each pipeThrough makes three), which on a small call is more
 * than the rest of the proxy's work. So an upstream body is a `StagedNodeBody`: the Node stream plus a list of
 * stages (the usage reader, the SSE filter, the end-of-body observer) that handlers add before it is read. It
 * becomes a web stream only if someone asks for one; a host with a Node writable has it written straight in.
 * A body from anywhere else gets the same work from `applyStage`.
 */
import type { Readable, Writable } from 'node:stream';
import { clientClosedBody } from '../http/proxyRequest';

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
  /**
   * When the body fails midway (its source broke off, or a stage threw): the bytes to end it with, in the body's
   * own format, so that it ends normally with them rather than being cut (an event stream's error event). Its
   * outcome is still 'error'.
   */
  endFailure?(error: unknown): Uint8Array | undefined;
}

/** The first failure ending a stage offers, if any. */
function failureEnding(stages: readonly BodyStage[], error: unknown): Uint8Array | undefined {
  for (const stage of stages) {
    const ending = stage.endFailure?.(error);
    if (ending !== undefined) return ending;
  }
  return undefined;
}

/** Fails a web body: closed with the stages' failure ending when one offers one, errored otherwise. */
function failWebBody(controller: ReadableStreamDefaultController<Uint8Array>, stages: readonly BodyStage[], error: unknown): void {
  const ending = failureEnding(stages, error);
  if (ending === undefined) {
    controller.error(error);
    return;
  }
  controller.enqueue(ending);
  controller.close();
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

/** At the end of a body: what each stage still holds, run through the stages after it. */
function flushStages(stages: readonly BodyStage[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  stages.forEach((stage, index) => {
    const flushed = asList(stage.flush?.());
    if (stage.onChunk !== undefined) for (const chunk of flushed) stage.onChunk(chunk);
    out.push(...runStages(stages, index + 1, flushed));
  });
  return out;
}

/**
 * An upstream response body: a Node readable and the stages its chunks go through, read once, either as a web
 * stream (`toWeb`) or written straight into a Node writable (`writeTo`), which makes no web stream, no reader
 * and no promise per chunk.
 */
export class StagedNodeBody {
  readonly #source: Readable;
  readonly #stages: BodyStage[] = [];
  #web: ReadableStream<Uint8Array> | undefined;
  #taken = false;

  constructor(source: Readable) {
    this.#source = source;
  }

  /** Adds a stage, before the body is taken; false once it has been (the caller then uses `applyStage`). */
  addStage(stage: BodyStage): boolean {
    if (this.#taken) return false;
    this.#stages.push(stage);
    return true;
  }

  /** The body as a web stream, made on first use; it reads the source only as fast as it is read. */
  toWeb(): ReadableStream<Uint8Array> {
    if (this.#web === undefined) {
      this.#take();
      this.#web = readableToWeb(this.#source, { onCancel: 'destroy', readOnDemand: true, stages: this.#stages });
    }
    return this.#web;
  }

  /** Drops the body unread, closing its connection; its stages hear that it was cancelled. */
  discard(): Promise<void> {
    if (this.#web !== undefined) return this.#web.cancel().catch(() => undefined);
    if (this.#taken) return Promise.resolve();
    this.#taken = true;
    for (const stage of this.#stages) stage.onEnd?.('cancelled');
    // Destroying an HTTP client's body emits an abort error, which nobody is left to hear.
    this.#source.on('error', () => undefined);
    this.#source.destroy();
    return Promise.resolve();
  }

  /**
   * Writes the body into `destination` as it arrives, pausing the source while the destination is full, and
   * ends it. If the destination closes first (the client hung up), the source is destroyed, which closes the
   * upstream call. If the source fails midway, a stage's failure ending (an event stream's error event) ends the
   * destination; without one it rejects, leaving the destination unended: the caller then cuts the connection,
   * so the client sees a broken body rather than a complete-looking short one.
   */
  writeTo(destination: Writable): Promise<void> {
    this.#take();
    const source = this.#source;
    const stages = this.#stages;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (outcome: BodyOutcome, error?: unknown): void => {
        if (settled) return;
        settled = true;
        // onError stays: destroying an HTTP client's body emits an abort error, which must not go unheard.
        source.off('data', onData);
        source.off('end', onEnd);
        source.off('close', onSourceClose);
        destination.off('drain', onDrain);
        destination.off('close', onDestinationClose);
        const ending = outcome === 'error' && !destination.destroyed ? failureEnding(stages, error) : undefined;
        if (ending !== undefined) destination.end(ending);
        for (const stage of stages) stage.onEnd?.(outcome);
        if (outcome === 'error' && ending === undefined) reject(error instanceof Error ? error : new Error('The upstream body failed.'));
        else resolve();
      };
      const onData = (chunk: Buffer): void => {
        const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        let out: readonly Uint8Array[];
        try {
          out = stages.length === 0 ? [bytes] : runStages(stages, 0, [bytes]);
        } catch (error) {
          // A stage that fails fails this body, not the process (this runs in an event handler).
          settle('error', error);
          source.destroy();
          return;
        }
        if (out.length === 0) return;
        // Not corked: from Node 22, a corked ServerResponse's write() answers for the corked batch alone and no
        // longer says when the socket is full, so a slow client's body would pile up in memory. (A body with a
        // length still goes out with its headers in one write; a chunked one ends with a write of its own.)
        let full = false;
        for (const piece of out) full = !destination.write(piece) || full;
        if (full) source.pause();
      };
      const onDrain = (): void => {
        source.resume();
      };
      const onEnd = (): void => {
        try {
          for (const piece of flushStages(stages)) destination.write(piece);
        } catch (error) {
          settle('error', error);
          return;
        }
        destination.end();
        settle('complete');
      };
      const onError = (error: Error): void => settle('error', error);
      const onSourceClose = (): void => {
        if (!source.readableEnded) settle('error', new Error('The upstream body closed before its end.'));
      };
      const onDestinationClose = (): void => {
        if (settled) return;
        settle('cancelled');
        source.destroy();
      };
      source.on('data', onData);
      source.once('end', onEnd);
      source.once('error', onError);
      source.once('close', onSourceClose);
      destination.on('drain', onDrain);
      destination.once('close', onDestinationClose);
      if (destination.destroyed) onDestinationClose();
      else source.resume();
    });
  }

  #take(): void {
    if (this.#taken) throw new TypeError('The body has already been read.');
    this.#taken = true;
  }
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
