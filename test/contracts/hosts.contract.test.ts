/**
 * One contract, both hosts: what a client sees must not depend on where the app runs. The same cases run against
 * the local host (`npm start`'s, in process) and against the app as Azure runs it (the built function files in the
 * stand-in Functions worker, behind the stand-in host), with the official `openai` SDK or plain HTTP as the client
 * and the emulator upstream.
 */
import { once } from 'node:events';
import OpenAI, { APIError } from 'openai';
import { ERROR_CATALOGUE, type ErrorCode } from '../../src/core/errors/catalogue';
import { AzureOpenAIEmulator, EMULATOR_API_KEY } from '../../src/emulator/server';
import { startFunctionsStack } from '../support/functionsStack';
import { startProxy } from '../support/stack';

const CLIENT_KEY = 'contract-client-key';

interface RunningHost {
  baseURL: string;
  close(): Promise<void>;
}

const HOSTS: Array<[string, (env: Record<string, string>) => Promise<RunningHost>]> = [
  ['the local host', (env) => startProxy(env)],
  ['the Functions host', (env) => startFunctionsStack(env)],
];

let emulator: AzureOpenAIEmulator;
beforeAll(async () => {
  // Slow enough that a stream is still running when a client leaves it.
  emulator = await AzureOpenAIEmulator.start({ chunkDelayMs: 20 });
});
afterAll(() => emulator.close());

async function expectCatalogued(response: Response, code: ErrorCode): Promise<void> {
  const { status, type } = ERROR_CATALOGUE[code];
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(await response.json()).toEqual({ error: { message: expect.any(String), type, param: null, code } });
}

describe.each(HOSTS)('%s', (_name, start) => {
  let host: RunningHost;
  let client: OpenAI;

  beforeAll(async () => {
    host = await start({
      AZURE_OPENAI_ENDPOINT: emulator.url,
      AZURE_OPENAI_TOKEN: EMULATOR_API_KEY,
      AZURE_OPENAI_AUTH: 'key',
      PROXY_API_KEYS: CLIENT_KEY,
      AZURE_OPENAI_MODEL_MAPPER: 'gpt-4o=gpt-4o',
    });
    client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: host.baseURL, maxRetries: 0 });
  }, 30_000);
  afterAll(() => host.close());

  it('answers a chat completion, with the request id to quote', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] }).withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]?.message.content).toBeTruthy();
    expect(response.headers.get('x-proxy-request-id')).toMatch(/\S/);
  });

  it('streams a chat completion chunk by chunk, to its end', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello there' }], stream: true });
    const arrivals: number[] = [];
    for await (const _chunk of stream) arrivals.push(Date.now());
    expect(arrivals.length).toBeGreaterThan(2);
    // Passed on as they come, not gathered: the emulator spaces them 20 ms apart.
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(20);
  });

  it('lists the mapped models', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain('gpt-4o');
  });

  it('refuses a wrong key with 401 invalid_api_key', async () => {
    const response = await fetch(`${host.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer wrong', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [] }),
    });
    await expectCatalogued(response, 'invalid_api_key');
  });

  it('answers malformed JSON with 400 invalid_json', async () => {
    const response = await fetch(`${host.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: '{"model": ',
    });
    await expectCatalogued(response, 'invalid_json');
  });

  it('answers an unknown path with 404 unknown_url, and a wrong method with 405 and allow', async () => {
    await expectCatalogued(await fetch(`${host.baseURL}/no/such/api`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } }), 'unknown_url');
    const wrongMethod = await fetch(`${host.baseURL}/chat/completions`, { method: 'GET', headers: { authorization: `Bearer ${CLIENT_KEY}` } });
    expect(wrongMethod.headers.get('allow')).toContain('POST');
    await expectCatalogued(wrongMethod, 'method_not_allowed');
  });

  it('answers a model that cannot be a deployment as the SDK expects: an APIError 404 model_not_found', async () => {
    const failure = await client.chat.completions.create({ model: 'no such model', messages: [{ role: 'user', content: 'x' }] }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(APIError);
    expect({ status: (failure as APIError).status, code: (failure as APIError).code }).toEqual({ status: 404, code: 'model_not_found' });
  });

  it("relays Azure's own error for an unmapped name it takes as a deployment, in OpenAI's shape", async () => {
    const failure = await client.chat.completions.create({ model: 'no-such-deployment', messages: [{ role: 'user', content: 'x' }] }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(APIError);
    expect({ status: (failure as APIError).status, code: (failure as APIError).code }).toEqual({ status: 404, code: 'DeploymentNotFound' });
  });

  it('answers a CORS preflight from a browser', async () => {
    const response = await fetch(`${host.baseURL}/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://chat.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBeTruthy();
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
  });

  it('aborts the upstream stream within a second of the client leaving', async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'a long answer '.repeat(30) }], stream: true },
      { signal: controller.signal },
    );
    const aborted = once(emulator.events, 'stream-aborted');
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    const left = Date.now();
    controller.abort();
    await iterator.next().catch(() => undefined);
    await aborted;
    expect(Date.now() - left).toBeLessThan(1000);
  });
});
