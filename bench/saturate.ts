/**
 * A load that keeps a server busy: `connections` keep-alive connections, each sending the next request the moment
 * the last answer has come whole. Written on sockets, not with an HTTP client, so that it costs a small part of what
 * the server does per request (undici's Pool, with the emulator beside it on the same core, left the servers idle
 * half the time). Each answer must be a 200 with a Content-Length, which both the floor and the proxy send for a
 * non-streaming completion; anything else fails the run rather than being counted.
 */
import { connect, type Socket } from 'node:net';
import { messagesOf } from './http1';

export interface Saturation {
  /** Answers received so far. */
  readonly answers: number;
  /** Stops sending and closes the connections; throws if an answer was not a 200 with a length, or a connection failed. */
  close(): void;
}

export function saturate(url: string, connections: number, request: { path: string; headers: Record<string, string>; body: string }): Saturation {
  const { hostname, port, host } = new URL(url);
  const headers = Object.entries({ host, ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  const bytes = Buffer.from(`POST ${request.path} HTTP/1.1\r\n${headers}\r\n${request.body}`, 'utf8');
  let answers = 0;
  let failure: string | undefined;
  let stopped = false;
  const sockets: Socket[] = [];
  for (let i = 0; i < connections; i++) {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    socket.setNoDelay(true);
    socket.on(
      'data',
      messagesOf((message, hasLength) => {
        // "HTTP/1.1 200": the status's digits are bytes 9 to 11.
        if (message.toString('latin1', 9, 12) !== '200' || !hasLength) failure ??= message.toString('latin1', 0, Math.min(message.length, 300));
        answers++;
        if (!stopped) socket.write(bytes);
      }),
    );
    socket.on('error', (error) => {
      if (!stopped) failure ??= error.message;
    });
    sockets.push(socket);
  }
  return {
    get answers() {
      return answers;
    },
    close() {
      stopped = true;
      for (const socket of sockets) socket.destroy();
      if (failure !== undefined) throw new Error(`The saturating load got an answer other than a 200 with a length: ${failure}`);
    },
  };
}
