/** A body larger than any buffer on the way (an upstream answer, a client's upload), for the tests of slow peers. */
import type { Writable } from 'node:stream';

/**
 * Writes `size` bytes into `out`, `piece` after `piece`, as fast as it takes them (waiting for 'drain' when it is
 * full), counting what it has taken in `progress.sent`, then ends it. With backpressure all the way, a reader that
 * reads nothing stops it.
 */
export function writeBigBody(out: Writable, size: number, progress: { sent: number }, piece: Buffer = Buffer.alloc(64 * 1024, 1)): void {
  const pump = (): void => {
    while (progress.sent < size) {
      progress.sent += piece.length;
      if (!out.write(piece)) {
        out.once('drain', pump);
        return;
      }
    }
    out.end();
  };
  pump();
}
