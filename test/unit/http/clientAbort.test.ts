import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { ClientAbort } from '../../../src/core/http/proxyRequest';

describe('ClientAbort', () => {
  it('calls each listener still added once, when it aborts, and none added after', () => {
    const abort = new ClientAbort();
    const calls: string[] = [];
    const first = (): void => void calls.push('first');
    const second = (): void => void calls.push('second');
    const removed = (): void => void calls.push('removed');
    abort.addEventListener('abort', first);
    abort.addEventListener('abort', removed);
    abort.addEventListener('abort', second);
    abort.removeEventListener('abort', removed);
    expect(abort.aborted).toBe(false);
    abort.abort();
    abort.abort();
    abort.addEventListener('abort', () => void calls.push('late'));
    expect(abort.aborted).toBe(true);
    expect(calls).toEqual(['first', 'second']);
  });

  it('forgets a first listener removed, and keeps the others', () => {
    const abort = new ClientAbort();
    const calls: string[] = [];
    const first = (): void => void calls.push('first');
    abort.addEventListener('abort', first);
    abort.addEventListener('abort', () => void calls.push('second'));
    abort.removeEventListener('abort', first);
    abort.abort();
    expect(calls).toEqual(['second']);
  });

  describe("as undici's request signal", () => {
    let server: Server;
    let url: string;
    let closed: Promise<void>;

    beforeEach(async () => {
      let onClose: () => void = () => undefined;
      closed = new Promise<void>((resolve) => (onClose = resolve));
      // Answers headers, then never ends the body.
      server = createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: {}\n\n');
        req.socket.once('close', onClose);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });

    afterEach(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('cancels a call whose body is under way, and one not yet sent', async () => {
      const abort = new ClientAbort();
      const { body } = await request(url, { signal: abort });
      const failed = new Promise<Error>((resolve) => body.once('error', resolve));
      abort.abort();
      expect((await failed).name).toBe('AbortError');
      await closed;

      await expect(request(url, { signal: abort })).rejects.toMatchObject({ name: 'AbortError' });
    });
  });
});
