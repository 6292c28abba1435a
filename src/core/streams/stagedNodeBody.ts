/**
 * An upstream body as the core keeps it: the Node stream plus the stages handlers add before it is read. It becomes
 * a web stream only if someone asks for one; a host with a Node writable has it written straight in, with
 * backpressure, which is the fast path of both hosts.
 */
import type { Readable, Writable } from 'node:stream';
import { readableToWeb } from './webBody';
import { type BodyOutcome, type BodyStage, failureEnding, flushStages, runStages } from './bodyStage';

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
        // A body cut short: its listeners go, but onError, since destroying an HTTP client's body emits an abort
        // error, which must not go unheard. A complete one keeps them: the source emits nothing more but its
        // 'close', and the destination its 'close' (and a 'drain' still awaited), each of which finds the body
        // settled; removing them cost more than writing a small body.
        if (outcome !== 'complete') {
          source.off('data', onData);
          source.off('end', onEnd);
          source.off('close', onSourceClose);
          destination.off('drain', onDrain);
          destination.off('close', onDestinationClose);
        }
        const ending = outcome === 'error' && !destination.destroyed ? failureEnding(stages, error) : undefined;
        if (ending !== undefined) destination.end(ending);
        for (const stage of stages) stage.onEnd?.(outcome);
        // Done with: a complete body's listeners, still on its streams, hold no stage (a usage read holds the
        // body's last chunks).
        stages.length = 0;
        if (outcome === 'error' && ending === undefined) reject(error instanceof Error ? error : new Error('The upstream body failed.'));
        else resolve();
      };
      const onData = (chunk: Buffer): void => {
        let out: readonly Uint8Array[];
        try {
          out = stages.length === 0 ? [chunk] : runStages(stages, 0, [chunk]);
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
        if (full && !waiting) {
          // Listened for only while the destination is full: most bodies never fill it.
          waiting = true;
          source.pause();
          destination.once('drain', onDrain);
        }
      };
      let waiting = false;
      const onDrain = (): void => {
        waiting = false;
        if (!settled) source.resume();
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
      // `on`, not `once`, where settle removes them anyway: `once` wraps each listener in one more function.
      source.on('data', onData);
      source.on('end', onEnd);
      source.once('error', onError);
      source.on('close', onSourceClose);
      destination.on('close', onDestinationClose);
      if (destination.destroyed) onDestinationClose();
      else source.resume();
    });
  }

  #take(): void {
    if (this.#taken) throw new TypeError('The body has already been read.');
    this.#taken = true;
  }
}
