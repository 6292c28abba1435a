/**
 * HTTP/1.1 messages cut out of a connection's bytes by their Content-Length, for the bench's own load and upstream
 * (bench/saturate.ts, bench/fixedUpstream.ts), which must cost far less per request than any server they measure.
 * Only what those two send and receive: no chunked bodies (a message without a length is taken as having none).
 */

/**
 * Calls `onMessage` with each whole message (head and body) as the connection's chunks arrive, and whether its head
 * gave its length.
 */
export function messagesOf(onMessage: (message: Buffer, hasLength: boolean) => void): (chunk: Buffer) => void {
  let pending: Buffer | undefined;
  return (chunk) => {
    let bytes = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
    pending = undefined;
    for (;;) {
      const headEnd = bytes.indexOf('\r\n\r\n');
      if (headEnd < 0) break;
      const length = contentLength(bytes.toString('latin1', 0, headEnd));
      const end = headEnd + 4 + Math.max(0, length);
      if (bytes.length < end) break;
      onMessage(bytes.subarray(0, end), length >= 0);
      bytes = bytes.subarray(end);
    }
    if (bytes.length > 0) pending = bytes;
  };
}

/** A head's Content-Length; -1 without one. */
function contentLength(head: string): number {
  const match = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
  return match === null ? -1 : Number(match[1]);
}
