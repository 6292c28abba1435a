/**
 * Stages: work on each chunk of a body inside the one stream (the usage reader, the SSE filter, the end-of-body
 * observer) instead of a chain of streams, since each web stream costs a good deal to make (and each pipeThrough
 * makes three), which on a small call is more than the rest of the proxy's work.
 */
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
export function failureEnding(stages: readonly BodyStage[], error: unknown): Uint8Array | undefined {
  for (const stage of stages) {
    const ending = stage.endFailure?.(error);
    if (ending !== undefined) return ending;
  }
  return undefined;
}

/** Fails a web body: closed with the stages' failure ending when one offers one, errored otherwise. */
export function failWebBody(controller: ReadableStreamDefaultController<Uint8Array>, stages: readonly BodyStage[], error: unknown): void {
  const ending = failureEnding(stages, error);
  if (ending === undefined) {
    controller.error(error);
    return;
  }
  controller.enqueue(ending);
  controller.close();
}

export function asList(out: Uint8Array | readonly Uint8Array[] | undefined): readonly Uint8Array[] {
  if (out === undefined) return [];
  return out instanceof Uint8Array ? [out] : out;
}

/** Runs chunks through the stages from `from` on. */
export function runStages(stages: readonly BodyStage[], from: number, chunks: readonly Uint8Array[]): readonly Uint8Array[] {
  let current = chunks;
  for (let i = from; i < stages.length; i++) {
    const stage = stages[i] as BodyStage;
    if (stage.transform !== undefined) current = current.flatMap((chunk) => asList(stage.transform?.(chunk)));
    if (stage.onChunk !== undefined) for (const chunk of current) stage.onChunk(chunk);
  }
  return current;
}

/** At the end of a body: what each stage still holds, run through the stages after it. */
export function flushStages(stages: readonly BodyStage[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  stages.forEach((stage, index) => {
    const flushed = asList(stage.flush?.());
    if (stage.onChunk !== undefined) for (const chunk of flushed) stage.onChunk(chunk);
    out.push(...runStages(stages, index + 1, flushed));
  });
  return out;
}
