/**
 * Objects per client key: with a usage store, a key sees and changes only the files, vector stores, assistants,
 * threads, batches and stored responses it created, and cannot refer to another key's in a body either; a key
 * with `allObjects` sees all; without a store, keys share them. The `openai` SDK against the emulator, in process
 * (memory store) and across two processes sharing Table Storage (Azurite).
 */
import OpenAI, { toFile } from 'openai';
import { loadConfig, type ProxyConfig } from '../../src/core/config/config';
import { MemoryOwnerStore } from '../../src/core/ownership/owners';
import { createProxy } from '../../src/core/proxy';
import { AzureOpenAIEmulator, EMULATOR_API_KEY } from '../../src/emulator/server';
import { startLocalHost, type LocalHost } from '../../src/hosting/node/localHost';
import { Azurite } from '../support/azurite';
import { runProxyProcess, type ProxyProcess } from '../support/proxyProcess';
import { capturingLogger } from '../support/stack';

let emulator: AzureOpenAIEmulator;
beforeAll(async () => {
  emulator = await AzureOpenAIEmulator.start();
});
afterAll(() => emulator.close());

const env = (): Record<string, string> => ({
  AZURE_OPENAI_ENDPOINT: emulator.url,
  AZURE_OPENAI_AUTH: 'key',
  AZURE_OPENAI_TOKEN: EMULATOR_API_KEY,
  PROXY_API_KEYS: 'alice-key,bob-key,auditor-key',
  AZURE_OPENAI_API_VERSION_FILES: '2025-04-01-preview',
});
const upload = async (client: OpenAI, name: string): Promise<OpenAI.Files.FileObject> => client.files.create({ file: await toFile(Buffer.from('{"prompt": "x"}\n'), name), purpose: 'assistants' });
const calls = (): number => emulator.requests.length;

async function refusedUnsent(call: Promise<unknown>): Promise<void> {
  const before = calls();
  const error = await call.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(OpenAI.NotFoundError);
  expect(error).toMatchObject({ status: 404, code: 'object_not_found' });
  expect(calls()).toBe(before);
}

describe('objects kept per client key (usage store in memory)', () => {
  let host: LocalHost;
  let alice: OpenAI;
  let bob: OpenAI;
  let auditor: OpenAI;
  beforeAll(async () => {
    const config = loadConfig(env());
    // The third key sees every key's objects, as App Configuration's `"allObjects": true` makes one.
    const withAuditor: ProxyConfig = { ...config, clientKeys: config.clientKeys.map((key) => (key.name === 'env-3' ? { ...key, allObjects: true } : key)) };
    host = await startLocalHost({ proxy: createProxy(withAuditor, { owners: new MemoryOwnerStore(), logger: capturingLogger([]) }) });
    const client = (apiKey: string): OpenAI => new OpenAI({ apiKey, baseURL: `${host.url}/v1`, maxRetries: 0 });
    [alice, bob, auditor] = [client('alice-key'), client('bob-key'), client('auditor-key')];
  });
  afterAll(() => host.close());

  it("hides a key's files from another, in lists, reads, deletes and references", async () => {
    const file = await upload(alice, 'alice.jsonl');
    const bobs = await upload(bob, 'bob.jsonl');
    const listed = (await bob.files.list()).data.map((f) => f.id);
    expect(listed).toContain(bobs.id);
    expect(listed).not.toContain(file.id);
    expect((await alice.files.list()).data.map((f) => f.id)).toEqual(expect.arrayContaining([file.id]));
    expect((await alice.files.list()).data.map((f) => f.id)).not.toContain(bobs.id);
    await refusedUnsent(bob.files.retrieve(file.id));
    await refusedUnsent(bob.files.content(file.id));
    await refusedUnsent(bob.files.delete(file.id));
    // Referring to it is reading it: a vector store or a batch of it is refused too.
    await refusedUnsent(bob.vectorStores.create({ name: 'x', file_ids: [file.id] }));
    await refusedUnsent(bob.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }));
    await refusedUnsent(bob.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: file.id } }] }] }));
    expect((await alice.files.retrieve(file.id)).id).toBe(file.id);
    const store = await alice.vectorStores.create({ name: 'alice', file_ids: [file.id] });
    await refusedUnsent(bob.vectorStores.retrieve(store.id));
    await refusedUnsent(bob.vectorStores.files.list(store.id));
    // The auditor sees both.
    expect((await auditor.files.list()).data.map((f) => f.id)).toEqual(expect.arrayContaining([file.id, bobs.id]));
    expect((await auditor.files.retrieve(file.id)).id).toBe(file.id);
  });

  it('keeps assistants, threads made with their first run, and stored responses (streamed too) to their creator', async () => {
    const assistant = await alice.beta.assistants.create({ model: 'gpt-4o', name: 'alice' });
    await refusedUnsent(bob.beta.assistants.retrieve(assistant.id));
    expect((await bob.beta.assistants.list()).data.map((a) => a.id)).not.toContain(assistant.id);
    await refusedUnsent(bob.beta.threads.createAndRun({ assistant_id: assistant.id }));
    const run = await alice.beta.threads.createAndRun({ assistant_id: assistant.id });
    await refusedUnsent(bob.beta.threads.retrieve(run.thread_id));
    expect((await alice.beta.threads.retrieve(run.thread_id)).id).toBe(run.thread_id);

    const response = await alice.responses.create({ model: 'gpt-4o', input: 'hi' });
    await refusedUnsent(bob.responses.retrieve(response.id));
    await refusedUnsent(bob.responses.create({ model: 'gpt-4o', input: 'and?', previous_response_id: response.id }));
    let streamedId = '';
    for await (const event of await alice.responses.create({ model: 'gpt-4o', input: 'hi', stream: true })) {
      if (event.type === 'response.created') streamedId = event.response.id;
    }
    expect(streamedId).not.toBe('');
    expect((await alice.responses.retrieve(streamedId)).id).toBe(streamedId);
    await refusedUnsent(bob.responses.retrieve(streamedId));
  });
});

describe('without a usage store', () => {
  it('lets keys share objects, as Azure keeps them per resource', async () => {
    const host = await startLocalHost({ proxy: createProxy(loadConfig(env()), { logger: capturingLogger([]) }) });
    try {
      const client = (apiKey: string): OpenAI => new OpenAI({ apiKey, baseURL: `${host.url}/v1`, maxRetries: 0 });
      const file = await upload(client('alice-key'), 'shared.jsonl');
      expect((await client('bob-key').files.retrieve(file.id)).id).toBe(file.id);
    } finally {
      await host.close();
    }
  });
});

describe('objects kept per key across instances (Table Storage, Azurite)', () => {
  it('knows on one instance what a key created on another', async () => {
    const azurite = await Azurite.start();
    const running: ProxyProcess[] = [];
    try {
      const shared = { ...env(), PROXY_USAGE_TABLE_CONNECTION_STRING: azurite.connectionString };
      running.push(runProxyProcess({ PORT: '0', ...shared }), runProxyProcess({ PORT: '0', ...shared }));
      const [one, two] = await Promise.all(running.map((p) => p.listening()));
      const on = (baseURL: string, apiKey: string): OpenAI => new OpenAI({ apiKey, baseURL, maxRetries: 0 });
      const file = await upload(on(one!, 'alice-key'), 'alice.jsonl');
      expect((await on(two!, 'alice-key').files.retrieve(file.id)).id).toBe(file.id);
      await refusedUnsent(on(two!, 'bob-key').files.retrieve(file.id));
      expect((await on(two!, 'bob-key').files.list()).data.map((f) => f.id)).not.toContain(file.id);
    } finally {
      await Promise.all(running.map((p) => p.stop()));
      await azurite.stop();
    }
  }, 60_000);
});
