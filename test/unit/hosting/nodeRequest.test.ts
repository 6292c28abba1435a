import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BodyLimitExceeded, ClientAbort } from '../../../src/core';
import { NodeRequest } from '../../../src/hosting/node/nodeRequest';

/** A request as Node's server hands it over: a readable with a method and raw headers. */
function incoming(): IncomingMessage & PassThrough {
  return Object.assign(new PassThrough(), { method: 'POST', rawHeaders: ['Content-Type', 'application/json'] }) as unknown as IncomingMessage & PassThrough;
}

/** V8's collector, for a test that a body is let go of. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('NodeRequest.readBody', () => {
  it('reads the body whole, and then holds none of it while the request lives on (a stream answers for minutes)', async () => {
    const req = incoming();
    const request = new NodeRequest(req, new ClientAbort(), 'http://localhost/v1/chat/completions');
    // The promise is let go of too: a settled promise holds its value.
    let reading: Promise<Uint8Array> | undefined = request.readBody(1024);
    req.write(Buffer.from('{"model":'));
    req.end(Buffer.from('"gpt-4o"}'));
    let body: Uint8Array | undefined = await reading;
    reading = undefined;
    expect(Buffer.from(body).toString()).toBe('{"model":"gpt-4o"}');
    const held = new WeakRef(body);
    body = undefined;
    // The request object, and the listeners the read left on it, are still reachable here.
    await new Promise((resolve) => setImmediate(resolve));
    collector()();
    expect(held.deref()).toBeUndefined();
    expect(req.listenerCount('close')).toBeGreaterThan(0);
  });

  it('refuses a body over the limit, and one whose client went away', async () => {
    const big = incoming();
    const tooLarge = new NodeRequest(big, new ClientAbort(), 'http://localhost/').readBody(4);
    big.write(Buffer.from('12345'));
    await expect(tooLarge).rejects.toBeInstanceOf(BodyLimitExceeded);

    const cut = incoming();
    const cutShort = new NodeRequest(cut, new ClientAbort(), 'http://localhost/').readBody(1024);
    cut.write(Buffer.from('{"mo'));
    cut.destroy();
    await expect(cutShort).rejects.toMatchObject({ name: 'AbortError' });
  });
});
