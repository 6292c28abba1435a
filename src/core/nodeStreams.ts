/** Node streams as web streams, with backpressure counted in bytes. */
import type { Readable } from 'node:stream';

/** Bytes read ahead of the consumer; past this the source is paused. */
const HIGH_WATER_MARK = 256 * 1024;

export interface ReadableToWebOptions {
  /**
   * What cancelling the web stream does to the source: `destroy` it (an upstream response, whose connection
   * should close), or only stop reading (a server's request body, which Node drains after the response is sent,
   * so the client still receives that response).
   */
  onCancel: 'destroy' | 'stop-reading';
}

/**
 * A Node readable as a web stream that reads only as fast as it is consumed. (Node 20's Readable.toWeb counts
 * each chunk, not each byte, against a mark of 16,384 chunks, so it never pauses: a whole upload piles up in
 * memory while the upstream connection is opened.) Used for request bodies from the local host and for
 * upstream response bodies, so a slow client slows the upstream read instead of filling memory.
 */
export function readableToWeb(readable: Readable, options: ReadableToWebOptions): ReadableStream<Uint8Array> {
  let cancelled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        readable.pause();
        readable.on('data', (chunk: Buffer) => {
          if (cancelled) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) readable.pause();
        });
        readable.once('end', () => {
          if (!cancelled) controller.close();
        });
        readable.once('error', (error) => {
          if (!cancelled) controller.error(error);
        });
        readable.once('close', () => {
          if (!cancelled && !readable.readableEnded) controller.error(new Error('The stream closed before its end.'));
        });
      },
      pull() {
        readable.resume();
      },
      cancel(reason) {
        cancelled = true;
        if (options.onCancel === 'destroy') readable.destroy(reason instanceof Error ? reason : undefined);
        else readable.pause();
      },
    },
    { highWaterMark: HIGH_WATER_MARK, size: (chunk) => chunk.byteLength },
  );
}
