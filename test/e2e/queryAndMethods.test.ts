/**
 * What of a request's line reaches Azure, and how: the client's api-version never (however it is spelled), other
 * query parameters only where Azure's operation takes them (resource-level lists), HEAD on a GET route answered as
 * GET without a body, and a body Azure encoded although asked not to passed on with its encoding said.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { EMULATOR_API_KEY } from '../../src/emulator/server';
import { startProxy, type RunningProxy } from '../support/stack';

let azure: Server;
const seen: Array<{ method: string; url: string }> = [];
let proxy: RunningProxy;

beforeAll(async () => {
  azure = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '' });
    req.resume();
    req.once('end', () => {
      if ((req.url ?? '').includes('/deployments/gzipped/')) {
        const body = gzipSync(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: 'zipped' } }] }));
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': body.length }).end(body);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[]}');
    });
  });
  await new Promise<void>((resolve) => azure.listen(0, '127.0.0.1', resolve));
  proxy = await startProxy({ AZURE_OPENAI_ENDPOINT: `http://127.0.0.1:${(azure.address() as AddressInfo).port}` });
});
afterAll(async () => {
  await proxy.close();
  azure.closeAllConnections();
  await new Promise((resolve) => azure.close(resolve));
});

const auth = { authorization: `Bearer ${EMULATOR_API_KEY}` };

describe("what of the request line reaches Azure", () => {
  it("drops the client's api-version however spelled, and any query on a deployment-scoped operation", async () => {
    seen.length = 0;
    await fetch(`${proxy.baseURL}/chat/completions?API-VERSION=1999-01-01&Api-Version=x&foo=bar`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const url = new URL(seen[0]!.url, 'http://azure');
    expect([...url.searchParams.keys()]).toEqual(['api-version']);
    expect(url.searchParams.get('api-version')).not.toBe('1999-01-01');
  });

  it("keeps a resource-level list's own query, without the client's api-version", async () => {
    seen.length = 0;
    await fetch(`${proxy.baseURL}/files?limit=2&after=file-1&API-Version=1999-01-01`, { headers: auth });
    const url = new URL(seen[0]!.url, 'http://azure');
    expect(url.searchParams.get('limit')).toBe('2');
    expect(url.searchParams.get('after')).toBe('file-1');
    expect(url.searchParams.getAll('api-version')).toHaveLength(1);
    expect(url.searchParams.get('api-version')).not.toBe('1999-01-01');
  });

  it('answers HEAD on a GET route as GET, without a body', async () => {
    seen.length = 0;
    const response = await fetch(`${proxy.baseURL}/files`, { method: 'HEAD', headers: auth });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
    expect(seen[0]?.method).toBe('GET');
    expect((await fetch(`${proxy.baseURL}/models`, { method: 'HEAD', headers: auth })).status).toBe(200);
  });

  it('passes on a body Azure encoded anyway with its content-encoding, so the client can read it', async () => {
    const response = await fetch(`${proxy.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gzipped', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    // fetch decodes it because the proxy says it is gzip; binary labelled JSON would not parse.
    expect(((await response.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content).toBe('zipped');
  });
});
