/**
 * An upstream body as the core keeps it: the chunks its call pushes as they arrive, and the stages handlers add
 * before it is read. It becomes a web stream only if someone asks for one; a host with a Node writable has it
 * written straight in, with backpressure reaching back to the upstream connection, which is the fast path of both
 * hosts. No Node Readable stands in between: undici's `request` made one for every call (with a handler and an
 * async resource of its own), which cost a quarter of a bare pass-through's work (README, "Benchmark").
 */
import type { Writable } from 'node:stream';
import { type BodyOutcome, type BodyStage, failureEnding, failWebBody, flushStages, runStages } from './bodyStage';

/** What a body's reader may ask of the call that feeds it. */
export interface BodyFeed {
  /** Push no more until `resume`: the reader is full. */
  pause(): void;
  resume(): void;
  /** Push nothing more, ever: the reader went away (an upstream call closes its connection). */
  abort(): void;
}

/** Bytes kept for a reader that has not taken the body yet; past this its feed is paused. */
const KEPT_BYTES = 64 * 1024;

/**
 * An upstream response body: fed by its call (`push`, then `end` or `fail`), read once, either written straight
 * into a Node writable (`writeTo`), which makes no stream object, no reader and no promise per chunk, or as a web
 * stream (`toWeb`).
 */
export class StagedBody {
  readonly #feed: BodyFeed;
  #stages: BodyStage[] = [];
  /** Chunks pushed before a reader took the body. */
  #kept: Uint8Array[] = [];
  #keptBytes = 0;
  /** How the feed ended, once it has: `{}` for its end, `{ error }` for a failure. */
  #fed: { error?: unknown } | undefined;
  #paused = false;
  /** A full destination's 'drain' is awaited. */
  #draining = false;
  #taken = false;
  #settled = false;
  /** The reader, once one has taken the body: a writable, or a web stream's controller. */
  #destination: Writable | undefined;
  #written: { resolve: () => void; reject: (error: Error) => void } | undefined;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #web: ReadableStream<Uint8Array> | undefined;

  constructor(feed: BodyFeed) {
    this.#feed = feed;
  }

  /** Adds a stage, before the body is taken; false once it has been (the caller then uses `applyStage`). */
  addStage(stage: BodyStage): boolean {
    if (this.#taken) return false;
    this.#stages.push(stage);
    return true;
  }

  /** The feed's next chunk. */
  push(chunk: Uint8Array): void {
    // An empty chunk carries nothing, and must not pause the feed: undici hands one on when it resumes a parser
    // that paused in a body, and pausing on it would resume and pause it again for ever.
    if (this.#settled || this.#fed !== undefined || chunk.byteLength === 0) return;
    if (this.#destination !== undefined) this.#write(chunk);
    else if (this.#controller !== undefined) this.#enqueue(chunk);
    else {
      this.#kept.push(chunk);
      this.#keptBytes += chunk.byteLength;
      if (this.#keptBytes >= KEPT_BYTES) this.#pause();
    }
  }

  /** The feed's end: every chunk has been pushed. */
  end(): void {
    if (this.#settled || this.#fed !== undefined) return;
    this.#fed = {};
    this.#finish();
  }

  /** The feed broke off before its end. */
  fail(error: unknown): void {
    if (this.#settled || this.#fed !== undefined) return;
    this.#fed = { error };
    this.#finish();
  }

  /** The body as a web stream, made on first use; it is fed only as fast as it is read. */
  toWeb(): ReadableStream<Uint8Array> {
    if (this.#web === undefined) {
      this.#take();
      this.#web = new ReadableStream<Uint8Array>(
        {
          start: (controller) => {
            this.#controller = controller;
            for (const chunk of this.#takeKept()) this.#enqueue(chunk);
            this.#finish();
          },
          pull: () => this.#resume(),
          cancel: () => this.#cancel(),
        },
        // Nothing read ahead of the reader: the feed is paused until it reads.
        { highWaterMark: 0 },
      );
    }
    return this.#web;
  }

  /** Drops the body unread, stopping its feed; its stages hear that it was cancelled. */
  discard(): Promise<void> {
    if (this.#web !== undefined) return this.#web.cancel().catch(() => undefined);
    if (this.#taken) return Promise.resolve();
    this.#taken = true;
    this.#cancel();
    return Promise.resolve();
  }

  /**
   * Writes the body into `destination` as it arrives, pausing the feed while the destination is full, and ends
   * it. If the destination closes first (the client hung up), the feed is aborted, which closes the upstream call.
   * If the feed fails midway, a stage's failure ending (an event stream's error event) ends the destination;
   * without one it rejects, leaving the destination unended: the caller then cuts the connection, so the client
   * sees a broken body rather than a complete-looking short one.
   */
  writeTo(destination: Writable): Promise<void> {
    this.#take();
    return new Promise<void>((resolve, reject) => {
      this.#written = { resolve, reject };
      this.#destination = destination;
      // Left on a complete body's destination (removing it cost more than writing a small body): it then finds
      // the body settled.
      destination.on('close', () => {
        if (!this.#settled) this.#cancel();
      });
      if (destination.destroyed) {
        this.#cancel();
        return;
      }
      for (const chunk of this.#takeKept()) this.#write(chunk);
      if (this.#fed !== undefined) this.#finish();
      else if (!this.#draining) this.#resume();
    });
  }

  #take(): void {
    if (this.#taken) throw new TypeError('The body has already been read.');
    this.#taken = true;
  }

  #takeKept(): Uint8Array[] {
    const kept = this.#kept;
    this.#kept = [];
    this.#keptBytes = 0;
    return kept;
  }

  /** A chunk through the stages; none if one of them throws, which fails the body (and stops its feed). */
  #staged(chunk: Uint8Array): readonly Uint8Array[] {
    if (this.#stages.length === 0) return [chunk];
    try {
      return runStages(this.#stages, 0, [chunk]);
    } catch (error) {
      // A stage that fails fails this body, not the process (this runs in the feed's callback).
      this.#settle('error', error);
      this.#feed.abort();
      return [];
    }
  }

  #write(chunk: Uint8Array): void {
    if (this.#settled) return;
    const destination = this.#destination as Writable;
    // Not corked: from Node 22, a corked ServerResponse's write() answers for the corked batch alone and no longer
    // says when the socket is full, so a slow client's body would pile up in memory. (A body with a length still
    // goes out with its headers in one write; a chunked one ends with a write of its own.)
    let full = false;
    for (const piece of this.#staged(chunk)) full = !destination.write(piece) || full;
    if (full && !this.#draining) {
      this.#draining = true;
      this.#pause();
      // Listened for only while the destination is full: most bodies never fill it.
      destination.once('drain', () => {
        this.#draining = false;
        this.#resume();
      });
    }
  }

  #enqueue(chunk: Uint8Array): void {
    if (this.#settled) return;
    const controller = this.#controller as ReadableStreamDefaultController<Uint8Array>;
    const out = this.#staged(chunk);
    for (const piece of out) controller.enqueue(piece);
    // Paused only once something was handed on: a chunk a stage kept (half an SSE event) satisfies no read, and
    // a paused feed would then leave that read waiting for ever.
    if (out.length > 0 && (controller.desiredSize ?? 0) <= 0) this.#pause();
  }

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#feed.pause();
  }

  #resume(): void {
    if (!this.#paused || this.#settled) return;
    this.#paused = false;
    this.#feed.resume();
  }

  /** Ends the body for its reader as its feed ended, once both are there. */
  #finish(): void {
    const fed = this.#fed;
    const destination = this.#destination;
    const controller = this.#controller;
    if (fed === undefined || this.#settled || (destination === undefined && controller === undefined)) return;
    if ('error' in fed) {
      this.#settle('error', fed.error);
      return;
    }
    let held: Uint8Array[];
    try {
      held = flushStages(this.#stages);
    } catch (error) {
      this.#settle('error', error);
      return;
    }
    if (destination !== undefined) {
      for (const piece of held) destination.write(piece);
      destination.end();
    } else if (controller !== undefined) {
      for (const piece of held) controller.enqueue(piece);
      controller.close();
    }
    this.#settle('complete');
  }

  /** The reader went away: the feed is stopped. */
  #cancel(): void {
    if (this.#settled) return;
    this.#settle('cancelled');
    this.#feed.abort();
  }

  /** Tells the stages how the body ended, and its reader (a failure, if it has not been told yet). */
  #settle(outcome: BodyOutcome, error?: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    const stages = this.#stages;
    const destination = this.#destination;
    const controller = this.#controller;
    let ended = true;
    if (outcome === 'error') {
      if (controller !== undefined) failWebBody(controller, stages, error);
      else if (destination !== undefined && !destination.destroyed) {
        const ending = failureEnding(stages, error);
        if (ending === undefined) ended = false;
        else destination.end(ending);
      } else ended = false;
    }
    for (const stage of stages) stage.onEnd?.(outcome);
    // Done with: a complete body's listener, still on its destination, holds no stage (a usage read holds the
    // body's last chunks), nor any chunk.
    this.#stages = [];
    this.#kept = [];
    const written = this.#written;
    this.#written = undefined;
    if (written === undefined) return;
    if (ended) written.resolve();
    else written.reject(error instanceof Error ? error : new Error('The upstream body failed.'));
  }
}
