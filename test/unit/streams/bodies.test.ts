import { PassThrough, Readable, Writable } from 'node:stream';
import type { BodyOutcome, BodyStage } from '../../../src/core/streams/bodyStage';
import { applyStage } from '../../../src/core/streams/webBody';
import { StagedBody } from '../../../src/core/streams/stagedBody';

/**
 * A body fed by a Node readable the way the upstream call feeds one: every chunk pushed as it comes, paused,
 * resumed and aborted (destroyed) as its reader asks.
 */
function fedBy(source: Readable): StagedBody {
  const body = new StagedBody({ pause: () => source.pause(), resume: () => source.resume(), abort: () => source.destroy() });
  source.on('data', (chunk: Buffer) => body.push(chunk));
  source.on('end', () => body.end());
  source.on('error', (error) => body.fail(error));
  source.on('close', () => {
    if (!source.readableEnded) body.fail(new Error('The source closed before its end.'));
  });
  return body;
}

const text = (chunks: readonly Uint8Array[]): string => Buffer.concat(chunks).toString('utf8');

/** A destination that keeps what it is given; `delayMs` makes each write slow, so the source must wait. */
function sink(options: { highWaterMark?: number; delayMs?: number } = {}): Writable & { chunks: Buffer[] } {
  const chunks: Buffer[] = [];
  const writable = new Writable({
    highWaterMark: options.highWaterMark ?? 16 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      if (options.delayMs === undefined) callback();
      else setTimeout(callback, options.delayMs);
    },
  });
  return Object.assign(writable, { chunks });
}

/** Upper-cases every chunk, keeps a trailer back until the end, and records how the body ended. */
function recordingStage(): BodyStage & { outcomes: BodyOutcome[]; seen: string[] } {
  const outcomes: BodyOutcome[] = [];
  const seen: string[] = [];
  return {
    outcomes,
    seen,
    transform: (chunk) => Buffer.from(Buffer.from(chunk).toString('utf8').toUpperCase()),
    flush: () => Buffer.from('!'),
    onChunk: (chunk) => void seen.push(Buffer.from(chunk).toString('utf8')),
    onEnd: (outcome) => void outcomes.push(outcome),
  };
}

describe('StagedBody.writeTo', () => {
  it('writes every chunk through the stages, then what they held back, and ends the destination', async () => {
    const body = fedBy(Readable.from([Buffer.from('ab'), Buffer.from('cd')]));
    const stage = recordingStage();
    expect(body.addStage(stage)).toBe(true);
    const destination = sink();
    await body.writeTo(destination);
    expect(text(destination.chunks)).toBe('ABCD!');
    expect(destination.writableEnded).toBe(true);
    expect(stage.seen).toEqual(['AB', 'CD', '!']);
    expect(stage.outcomes).toEqual(['complete']);
  });

  it('reads the source only as fast as the destination takes it', async () => {
    let produced = 0;
    const source = new Readable({
      highWaterMark: 1024,
      read() {
        produced++;
        this.push(produced <= 200 ? Buffer.alloc(1024, 0x61) : null);
      },
    });
    const destination = sink({ highWaterMark: 2048, delayMs: 5 });
    const done = fedBy(source).writeTo(destination);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // 100 ms at 5 ms a chunk is about 20 chunks written; without backpressure all 200 would have been read.
    expect(produced).toBeLessThan(60);
    await done;
    await new Promise((resolve) => destination.once('finish', resolve));
    expect(Buffer.concat(destination.chunks).length).toBe(200 * 1024);
  });

  /** Like an undici response body: destroyed without a reason, it fails with an abort error. */
  class HttpBody extends PassThrough {
    override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
      callback(error ?? Object.assign(new Error('Request aborted'), { code: 'UND_ERR_ABORTED' }));
    }
  }

  /** A body being written, with its first chunk through. */
  async function writing(): Promise<{ source: PassThrough; stage: ReturnType<typeof recordingStage>; destination: ReturnType<typeof sink>; done: Promise<void> }> {
    const source = new HttpBody();
    const body = fedBy(source);
    const stage = recordingStage();
    body.addStage(stage);
    const destination = sink();
    const done = body.writeTo(destination);
    source.write('first');
    await new Promise((resolve) => setImmediate(resolve));
    expect(text(destination.chunks)).toBe('FIRST');
    return { source, stage, destination, done };
  }

  it('destroys the source, and says the body was cancelled, when the destination closes first', async () => {
    const { source, stage, destination, done } = await writing();
    const unheard: unknown[] = [];
    const onUncaught = (error: unknown): number => unheard.push(error);
    process.prependListener('uncaughtException', onUncaught);
    try {
      destination.destroy();
      await done;
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(source.destroyed).toBe(true);
    expect(unheard).toEqual([]);
    expect(stage.outcomes).toEqual(['cancelled']);
  });

  it('fails, leaving the destination unended, when the source breaks midway', async () => {
    const { source, stage, destination, done } = await writing();
    source.destroy(new Error('connection reset'));
    await expect(done).rejects.toThrow('connection reset');
    expect(destination.writableEnded).toBe(false);
    expect(stage.outcomes).toEqual(['error']);
  });

  it("ends the destination with a stage's failure ending, when one has one, instead of failing", async () => {
    const source = new HttpBody();
    const body = fedBy(source);
    const stage = recordingStage();
    body.addStage(stage);
    body.addStage({ endFailure: () => Buffer.from('[broken]') });
    const destination = sink();
    const done = body.writeTo(destination);
    source.write('ab');
    await new Promise((resolve) => setImmediate(resolve));
    source.destroy(new Error('connection reset'));
    await done;
    expect(destination.writableEnded).toBe(true);
    expect(text(destination.chunks)).toBe('AB[broken]');
    expect(stage.outcomes).toEqual(['error']);
  });

  it('fails the body, not the process, when a stage throws', async () => {
    const failing: BodyStage = {
      transform: () => {
        throw new Error('stage bug');
      },
    };
    const written = new HttpBody();
    const body = fedBy(written);
    body.addStage(failing);
    const done = body.writeTo(sink());
    written.write('x');
    await expect(done).rejects.toThrow('stage bug');
    expect(written.destroyed).toBe(true);

    const read = new HttpBody();
    const webBody = fedBy(read);
    webBody.addStage(failing);
    const text = new Response(webBody.toWeb()).text();
    read.write('x');
    await expect(text).rejects.toThrow('stage bug');
    expect(read.destroyed).toBe(true);
  });

  it('is read once: no stage can be added, and no second reader can take it, after it is taken', async () => {
    const body = fedBy(Readable.from([Buffer.from('x')]));
    const web = body.toWeb();
    expect(body.toWeb()).toBe(web);
    expect(body.addStage(recordingStage())).toBe(false);
    expect(() => body.writeTo(sink())).toThrow(TypeError);
    expect(await new Response(web).text()).toBe('x');
  });
});

describe('StagedBody.toWeb', () => {
  it('reads on past an empty chunk its feed pushes as it resumes, without pausing it again', async () => {
    // undici hands on an empty chunk when it resumes a parser that paused in a body: pausing on it resumed and
    // paused the call for ever, in one synchronous loop (this feed gives up after 1,000 turns instead).
    let resumes = 0;
    let sent = false;
    const body: StagedBody = new StagedBody({
      pause: () => undefined,
      resume: () => {
        resumes++;
        if (resumes > 1000) return;
        body.push(new Uint8Array(0));
        if (!sent) {
          sent = true;
          setImmediate(() => {
            body.push(Buffer.from('b'));
            body.end();
          });
        }
      },
      abort: () => undefined,
    });
    // More than the body keeps for a reader not there yet: its feed is paused until the reader comes.
    body.push(Buffer.alloc(64 * 1024, 0x61));
    const read = await new Response(body.toWeb()).text();
    expect(read.length).toBe(64 * 1024 + 1);
    expect(resumes).toBeLessThan(10);
  });

  it('runs the stages added before it was taken', async () => {
    const body = fedBy(Readable.from([Buffer.from('ab'), Buffer.from('cd')]));
    const stage = recordingStage();
    body.addStage(stage);
    expect(await new Response(body.toWeb()).text()).toBe('ABCD!');
    expect(stage.outcomes).toEqual(['complete']);
  });
});

describe('failure endings of web bodies', () => {
  it("close a body made by toWeb or applyStage with the stage's ending when its source breaks", async () => {
    const ending: BodyStage = { endFailure: () => Buffer.from('[broken]') };
    const source = new PassThrough();
    const body = fedBy(source);
    body.addStage(ending);
    const read = new Response(body.toWeb()).text();
    source.write('ab');
    await new Promise((resolve) => setImmediate(resolve));
    source.destroy(new Error('reset'));
    expect(await read).toBe('ab[broken]');

    let sent = false;
    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) controller.error(new Error('reset'));
        else controller.enqueue(new TextEncoder().encode('cd'));
        sent = true;
      },
    });
    expect(await new Response(applyStage(failing, ending)).text()).toBe('cd[broken]');
  });
});

describe('StagedBody.discard', () => {
  it('destroys the unread source and tells the stages', async () => {
    const source = new PassThrough();
    const body = fedBy(source);
    const stage = recordingStage();
    body.addStage(stage);
    await body.discard();
    expect(source.destroyed).toBe(true);
    expect(stage.outcomes).toEqual(['cancelled']);
  });
});

describe('applyStage', () => {
  it('tells the stage when its reader cancels the body', async () => {
    const stage = recordingStage();
    let cancelled = false;
    const source = new ReadableStream<Uint8Array>({
      pull: (controller) => controller.enqueue(new TextEncoder().encode('abc')),
      cancel: () => void (cancelled = true),
    });
    const reader = applyStage(source, stage).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('ABC');
    await reader.cancel();
    expect(stage.outcomes).toEqual(['cancelled']);
    expect(cancelled).toBe(true);
  });
});
