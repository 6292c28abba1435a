/**
 * A keep-alive connection after an answer given before the body was read (a refused upload, a body over the
 * limit): the rest of the body must not stall the next request on that connection (it used to wait about 66 s, for
 * the keep-alive timeout). The client is Node's own, reusing one connection, as many SDKs and browsers do.
 */
import { Agent, request } from 'node:http';
import { EMULATOR_API_KEY } from '../../src/emulator/server';
import { writeBigBody } from '../support/bigBody';
import { startStack, type Stack } from '../support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { PROXY_MAX_BODY_BYTES: String(256 * 1024) } });
});
afterAll(() => stack.close());

interface Answer {
  status: number | undefined;
  connection: string | undefined;
}

/** One request on the agent's one connection; `bodyBytes` sent chunked after `head`. Fails after 5 s without an answer. */
function send(agent: Agent, path: string, options: { head?: Buffer; bodyBytes?: number; headers?: Record<string, string> } = {}): Promise<Answer> {
  const url = new URL(stack.baseURL);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path, agent, method: options.bodyBytes === undefined ? 'GET' : 'POST', headers: { authorization: `Bearer ${EMULATOR_API_KEY}`, ...options.headers } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, connection: res.headers.connection }));
      },
    );
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error(`no answer to ${path} on the reused connection within 5 s`)));
    if (options.bodyBytes === undefined) {
      req.end();
      return;
    }
    if (options.head !== undefined) req.write(options.head);
    writeBigBody(req, options.bodyBytes, { sent: 0 }, Buffer.alloc(64 * 1024, 120));
  });
}

describe('a connection after a refused body', () => {
  it.each([
    ['a chunked JSON body over the limit', '/v1/chat/completions', { 'content-type': 'application/json' }, Buffer.from('{"model":"gpt-4o","messages":[{"role":"user","content":"')],
    [
      'an upload refused for its model, with most of its file unread',
      '/v1/audio/transcriptions',
      { 'content-type': 'multipart/form-data; boundary=b' },
      Buffer.from('--b\r\nContent-Disposition: form-data; name="model"\r\n\r\nno such model\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n'),
    ],
  ])('%s: answered with the connection closed, and the next request goes through at once', async (_what, path, headers, head) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const refused = await send(agent, path, { head, bodyBytes: 4 * 1024 * 1024, headers });
      expect(refused).toEqual({ status: expect.any(Number), connection: 'close' });
      expect([400, 404]).toContain(refused.status);
      expect(await send(agent, '/v1/models')).toEqual({ status: 200, connection: 'keep-alive' });
    } finally {
      agent.destroy();
    }
  }, 20_000);
});
