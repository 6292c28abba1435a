/** An upstream answer larger than any buffer on the way, for the tests of slow clients. */
import type { ServerResponse } from 'node:http';

/**
 * Writes `size` bytes into `res` as fast as it takes them (waiting for 'drain' when it is full), counting what it
 * has taken in `progress.sent`, then ends it. With backpressure all the way, a client that reads nothing stops it.
 */
export function writeBigBody(res: ServerResponse, size: number, progress: { sent: number }): void {
  const piece = Buffer.alloc(64 * 1024, 1);
  const pump = (): void => {
    while (progress.sent < size) {
      progress.sent += piece.length;
      if (!res.write(piece)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}
