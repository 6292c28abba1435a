/**
 * Client keys limited to models hold on every route: no route reaches Azure with a model the key may not use, or
 * with none where the object's own would apply; the stateful families, whose objects every key that reaches them
 * shares, need their grant; and a body cannot name its model twice (the checked one must be the one used).
 */
import { createHash } from 'node:crypto';
import { assembleConfig, parseClientKey } from '../../src/core/config/config';
import { createProxy } from '../../src/core/proxy';
import { AzureOpenAIEmulator, EMULATOR_API_KEY } from '../../src/emulator/server';
import { startLocalHost, type LocalHost } from '../../src/hosting/node/localHost';
import { capturingLogger } from '../support/stack';

const hash = (key: string): string => createHash('sha256').update(key).digest('hex');
const UNLIMITED = 'unlimited-key';
const LIMITED = 'limited-key';
const GRANTED = 'granted-key';

let emulator: AzureOpenAIEmulator;
let host: LocalHost;
beforeAll(async () => {
  emulator = await AzureOpenAIEmulator.start();
  const config = assembleConfig(
    { AZURE_OPENAI_ENDPOINT: emulator.url, AZURE_OPENAI_AUTH: 'key', AZURE_OPENAI_TOKEN: EMULATOR_API_KEY, PROXY_API_KEYS: UNLIMITED },
    {
      settings: {},
      models: new Map(),
      clientKeys: [
        parseClientKey('limited', { sha256: hash(LIMITED), models: ['gpt-4o'] }),
        parseClientKey('granted', { sha256: hash(GRANTED), models: ['gpt-4o'], grants: ['assistants', 'responses', 'files'] }),
      ],
    },
  );
  host = await startLocalHost({ proxy: createProxy(config, { logger: capturingLogger([]) }) });
});
afterAll(async () => {
  await host.close();
  await emulator.close();
});

async function call(key: string, method: string, path: string, body?: string | Buffer, contentType = 'application/json'): Promise<{ status: number; code: string | undefined; upstream: number }> {
  const before = emulator.requests.length;
  const response = await fetch(`${host.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': contentType }) },
    ...(body !== undefined && { body }),
  });
  const json = (await response.json().catch(() => ({}))) as { error?: { code?: string } };
  return { status: response.status, code: json.error?.code, upstream: emulator.requests.length - before };
}

describe('a key limited to models', () => {
  it.each([
    ['GET', '/v1/files', undefined],
    ['POST', '/v1/batches', '{"input_file_id":"file-1","endpoint":"/v1/chat/completions","completion_window":"24h"}'],
    ['POST', '/v1/fine_tuning/jobs', '{"model":"gpt-4o","training_file":"file-1"}'],
    ['GET', '/v1/assistants', undefined],
    ['POST', '/v1/threads/runs', '{"assistant_id":"asst_1"}'],
    ['GET', '/v1/vector_stores', undefined],
    ['GET', '/v1/responses/resp_1', undefined],
    ['DELETE', '/v1/responses/resp_1', undefined],
    ['POST', '/v1/responses', '{"model":"gpt-4o","input":"hi","previous_response_id":"resp_of_someone_else"}'],
  ] as Array<[string, string, string | undefined]>)('is refused %s %s without its grant, and nothing reaches Azure', async (method, path, body) => {
    expect(await call(LIMITED, method, path, body)).toEqual({ status: 403, code: 'family_not_allowed', upstream: 0 });
  });

  it.each([
    ['a run without a model (its assistant\'s would apply)', '/v1/threads/runs', '{"assistant_id":"asst_1"}', 400, 'missing_required_parameter'],
    ['a run with "model": null', '/v1/threads/thread_1/runs', '{"assistant_id":"asst_1","model":null}', 400, 'missing_required_parameter'],
    ['a run with another model', '/v1/threads/thread_1/runs', '{"assistant_id":"asst_1","model":"gpt-4o-mini"}', 403, 'model_not_allowed'],
    ['a response without a model', '/v1/responses', '{"input":"hi"}', 400, 'missing_required_parameter'],
    ['a response whose model is not a string', '/v1/responses', '{"model":["gpt-4o-mini"],"input":"hi"}', 400, 'invalid_type'],
    ['an assistant with another model', '/v1/assistants', '{"model":"gpt-4o-mini"}', 403, 'model_not_allowed'],
  ])('with its grants, is refused %s', async (_what, path, body, status, code) => {
    expect(await call(GRANTED, 'POST', path, body)).toEqual({ status, code, upstream: 0 });
  });

  it('with its grants, reaches them with its own model', async () => {
    const response = await call(GRANTED, 'POST', '/v1/responses', '{"model":"gpt-4o","input":"hi"}');
    expect({ status: response.status, upstream: response.upstream }).toEqual({ status: 200, upstream: 1 });
    expect((await call(GRANTED, 'GET', '/v1/files')).status).toBe(200);
  });
});

describe('a body that names its model twice', () => {
  it('is refused in JSON, whichever key sends it', async () => {
    const body = '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"model":"gpt-4o-mini"}';
    for (const key of [LIMITED, UNLIMITED]) expect(await call(key, 'POST', '/v1/chat/completions', body)).toEqual({ status: 400, code: 'duplicate_parameter', upstream: 0 });
    // The word in a message is not a second model.
    const fine = await call(LIMITED, 'POST', '/v1/chat/completions', '{"model":"gpt-4o","messages":[{"role":"user","content":"\\"model\\": which one?"}]}');
    expect(fine.status).toBe(200);
  });

  it('is refused in a multipart upload, before the upload is sent', async () => {
    const part = (name: string, value: string): string => `--b\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const file = `--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\nRIFF\r\n`;
    const body = `${part('model', 'whisper')}${file}${part('model', 'gpt-4o')}--b--\r\n`;
    expect(await call(UNLIMITED, 'POST', '/v1/audio/transcriptions', body, 'multipart/form-data; boundary=b')).toEqual({ status: 400, code: 'duplicate_parameter', upstream: 0 });
  });
});
