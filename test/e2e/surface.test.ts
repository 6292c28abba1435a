/**
 * The whole Azure OpenAI surface, end to end with the official `openai` SDK, in both of Azure's URL shapes:
 * the dated API (deployment in the URL, api-version per route family) and the v1 API (deployment in the body).
 */
import OpenAI, { toFile } from 'openai';
import { EMULATOR_API_KEY, type RecordedRequest } from '../../src/emulator/server';
import { startStack, type Stack } from '../support/stack';
import { makeWav, PNG_SIGNATURE } from '../support/wav';

const MAPPER = 'image-model=dall-e-3,edit-model=gpt-image-1,whisper-1=whisper,tts-1=tts,my-gpt=gpt-4o';

describe.each([
  { shape: 'dated', env: {} },
  { shape: 'v1', env: { AZURE_OPENAI_API_VERSION: 'v1' } },
] as const)('the Azure OpenAI surface through the $shape API', ({ shape, env }) => {
  let stack: Stack;
  let client: OpenAI;

  beforeAll(async () => {
    stack = await startStack({ env: { AZURE_OPENAI_MODEL_MAPPER: MAPPER, ...env } });
    client = new OpenAI({ apiKey: EMULATOR_API_KEY, baseURL: stack.baseURL, maxRetries: 0 });
  });
  afterAll(() => stack.close());

  const upstream = (): RecordedRequest => stack.emulator.requests.at(-1)!;

  /** Checks where a deployment-scoped call went: the deployment in the URL (dated) or in the body (v1). */
  function expectDeploymentCall(operation: string, deployment: string, apiVersion: string): void {
    const request = upstream();
    if (shape === 'dated') {
      expect(request.path).toBe(`/openai/deployments/${deployment}/${operation}`);
      expect(request.query['api-version']).toBe(apiVersion);
    } else {
      expect(request.path).toBe(`/openai/v1/${operation}`);
      expect(request.query['api-version']).toBeUndefined();
    }
  }

  function expectResourceCall(path: string, apiVersion: string): void {
    const request = upstream();
    expect(request.path).toBe(shape === 'dated' ? `/openai${path}` : `/openai/v1${path}`);
    expect(request.query['api-version']).toBe(shape === 'dated' ? apiVersion : undefined);
  }

  it('generates images, as URLs that serve a PNG and as base64', async () => {
    const byUrl = await client.images.generate({ model: 'image-model', prompt: 'a lighthouse', size: '1024x1024' });
    expectDeploymentCall('images/generations', 'dall-e-3', '2025-04-01-preview');
    if (shape === 'v1') expect(JSON.parse(upstream().body).model).toBe('dall-e-3');
    const png = Buffer.from(await (await fetch(byUrl.data![0]!.url!)).arrayBuffer());
    expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    const b64 = await client.images.generate({ model: 'image-model', prompt: 'a lighthouse', response_format: 'b64_json', n: 2 });
    expect(b64.data).toHaveLength(2);
    expect(Buffer.from(b64.data![0]!.b64_json!, 'base64').subarray(0, 8)).toEqual(PNG_SIGNATURE);
  });

  it('edits an uploaded image (multipart)', async () => {
    const image = await toFile(Buffer.concat([PNG_SIGNATURE, Buffer.alloc(2048, 1)]), 'photo.png', { type: 'image/png' });
    const edited = await client.images.edit({ model: 'edit-model', image, prompt: 'add a boat' });
    expectDeploymentCall('images/edits', 'gpt-image-1', '2025-04-01-preview');
    expect(Buffer.from(edited.data![0]!.b64_json!, 'base64').subarray(0, 8)).toEqual(PNG_SIGNATURE);
  });

  it('transcribes a real WAV file, and translates one', async () => {
    const file = await toFile(makeWav(1.5), 'hello.wav', { type: 'audio/wav' });
    const transcription = await client.audio.transcriptions.create({ file, model: 'whisper-1' });
    expect(transcription.text).toBe('Emulated transcription by whisper of hello.wav: 1.50 seconds of 16000 Hz audio.');
    expectDeploymentCall('audio/transcriptions', 'whisper', '2025-04-01-preview');
    // The v1 API names the deployment in the multipart model field, which the proxy rewrote in place.
    const modelField = /name="model"\r\n\r\n([^\r]*)\r\n/.exec(upstream().body)?.[1];
    expect(modelField).toBe(shape === 'v1' ? 'whisper' : 'whisper-1');
    expect(upstream().headers['content-length']).toBe(String(upstream().bodyBytes));

    const translation = await client.audio.translations.create({ file: await toFile(makeWav(0.5, 8000), 'bonjour.wav'), model: 'whisper-1', response_format: 'text' });
    expect(translation).toContain('Emulated translation by whisper of bonjour.wav: 0.50 seconds of 8000 Hz audio.');
    expectDeploymentCall('audio/translations', 'whisper', '2025-04-01-preview');
  });

  it('streams synthesised speech back with its content type', async () => {
    const speech = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hello from the proxy', response_format: 'wav' });
    expect(speech.headers.get('content-type')).toBe('audio/wav');
    const audio = Buffer.from(await speech.arrayBuffer());
    expect(audio.toString('ascii', 0, 4)).toBe('RIFF');
    expect(audio.toString('ascii', 8, 12)).toBe('WAVE');
    expect(audio.length).toBeGreaterThan(24_000);
    expectDeploymentCall('audio/speech', 'tts', '2025-04-01-preview');
  });

  it('creates responses plain and streaming, and gets, lists the input of and deletes them', async () => {
    const response = await client.responses.create({ model: 'my-gpt', input: 'Tell me a story' });
    expect(response.output_text).toBe('This is the Azure OpenAI emulator (deployment gpt-4o). You said: Tell me a story.');
    expectResourceCall('/responses', '2025-04-01-preview');
    expect(JSON.parse(upstream().body).model).toBe('gpt-4o');

    const stream = await client.responses.create({ model: 'my-gpt', input: 'Tell me a story', stream: true });
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    expect(text).toBe(response.output_text);
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');

    expect((await client.responses.retrieve(response.id)).id).toBe(response.id);
    expectResourceCall(`/responses/${response.id}`, '2025-04-01-preview');
    const items = await client.responses.inputItems.list(response.id);
    expect(items.data).toHaveLength(1);
    await client.responses.delete(response.id);
    await expect(client.responses.retrieve(response.id)).rejects.toMatchObject({ status: 404 });
  });

  it('uploads, lists, reads and deletes files', async () => {
    const lines = '{"custom_id":"1","method":"POST","url":"/chat/completions","body":{"model":"gpt-4o","messages":[]}}\n';
    const file = await client.files.create({ file: await toFile(Buffer.from(lines), 'batch.jsonl'), purpose: 'batch' });
    expectResourceCall('/files', '2024-10-21');
    expect(file).toMatchObject({ object: 'file', filename: 'batch.jsonl', bytes: lines.length, purpose: 'batch' });
    const listed = await client.files.list();
    expect(listed.data.map((f) => f.id)).toContain(file.id);
    expect(await (await client.files.content(file.id)).text()).toBe(lines);
    expectResourceCall(`/files/${file.id}/content`, '2024-10-21');
    expect((await client.files.retrieve(file.id)).id).toBe(file.id);
    expect(await client.files.delete(file.id)).toMatchObject({ id: file.id, deleted: true });
  });

  it('creates, gets, lists and cancels batches, whose input lines pass untouched', async () => {
    const lines = '{"custom_id":"a","method":"POST","url":"/chat/completions","body":{"model":"whatever-the-user-wrote","messages":[]}}\n';
    const input = await client.files.create({ file: await toFile(Buffer.from(lines), 'in.jsonl'), purpose: 'batch' });
    const batch = await client.batches.create({ input_file_id: input.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    expectResourceCall('/batches', '2024-10-21');
    expect(batch).toMatchObject({ object: 'batch', status: 'validating', input_file_id: input.id });
    expect((await client.batches.retrieve(batch.id)).id).toBe(batch.id);
    expect((await client.batches.list()).data.map((b) => b.id)).toContain(batch.id);
    expect((await client.batches.cancel(batch.id)).status).toBe('cancelling');
    expect(await (await client.files.content(input.id)).text()).toBe(lines);
  });

  it('runs fine-tuning jobs: create, list, get, events, cancel', async () => {
    const training = await client.files.create({ file: await toFile(Buffer.from('{"messages":[]}\n'), 'train.jsonl'), purpose: 'fine-tune' });
    const job = await client.fineTuning.jobs.create({ model: 'gpt-4o-mini-2024-07-18', training_file: training.id });
    expectResourceCall('/fine_tuning/jobs', '2024-10-21');
    // A base model name, not a deployment: fine-tuning's model is not mapped.
    expect(JSON.parse(upstream().body).model).toBe('gpt-4o-mini-2024-07-18');
    expect((await client.fineTuning.jobs.list()).data.map((j) => j.id)).toContain(job.id);
    expect((await client.fineTuning.jobs.retrieve(job.id)).status).toBe('pending');
    expect((await client.fineTuning.jobs.cancel(job.id)).status).toBe('cancelled');
    const events = await client.fineTuning.jobs.listEvents(job.id);
    expect(events.data.map((e) => e.message)).toEqual(['Job cancelled', 'Job enqueued']);
  });

  it('manages vector stores and their files', async () => {
    const file = await client.files.create({ file: await toFile(Buffer.from('hello'), 'notes.txt'), purpose: 'assistants' });
    const store = await client.vectorStores.create({ name: 'docs' });
    expectResourceCall('/vector_stores', '2025-04-01-preview');
    await client.vectorStores.files.create(store.id, { file_id: file.id });
    const files = await client.vectorStores.files.list(store.id);
    expect(files.data.map((f) => f.id)).toEqual([file.id]);
    expect((await client.vectorStores.retrieve(store.id)).file_counts.completed).toBe(1);
    expect(await client.vectorStores.delete(store.id)).toMatchObject({ deleted: true });
  });

  it('creates assistants with a mapped model and streams a run', async () => {
    const assistant = await client.beta.assistants.create({ model: 'my-gpt', name: 'helper', instructions: 'Be brief.' });
    expectResourceCall('/assistants', '2025-04-01-preview');
    expect(JSON.parse(upstream().body).model).toBe('gpt-4o');
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'Hi there' }] });
    let text = '';
    const run = client.beta.threads.runs.stream(thread.id, { assistant_id: assistant.id });
    run.on('textDelta', (delta) => (text += delta.value ?? ''));
    const final = await run.finalRun();
    expect(final.status).toBe('completed');
    expect(text).toBe('This is the Azure OpenAI emulator (deployment gpt-4o). You said: Hi there.');
    const messages = await client.beta.threads.messages.list(thread.id);
    expect(messages.data[0]?.role).toBe('assistant');
    expectResourceCall(`/threads/${thread.id}/messages`, '2025-04-01-preview');
  });
});

describe('GET /v1/models with AZURE_OPENAI_MODELS_FROM_AZURE', () => {
  it('adds the resource own models, fine-tuned ones included, after the mapped ones', async () => {
    const stack = await startStack({
      env: { AZURE_OPENAI_MODEL_MAPPER: 'gpt-4o=gpt-4o', AZURE_OPENAI_MODELS_FROM_AZURE: 'true' },
      emulator: { fineTunedModels: ['gpt-4o-mini-2024-07-18.ft-0123456789abcdef'] },
    });
    try {
      const client = new OpenAI({ apiKey: EMULATOR_API_KEY, baseURL: stack.baseURL, maxRetries: 0 });
      const models = (await client.models.list()).data;
      expect(models[0]?.id).toBe('gpt-4o');
      expect(models.map((m) => m.id)).toEqual(expect.arrayContaining(['gpt-4o-2024-08-06', 'whisper', 'gpt-4o-mini-2024-07-18.ft-0123456789abcdef']));
      expect(models.find((m) => m.id.includes('.ft-'))).toMatchObject({ object: 'model', owned_by: 'azure-openai-fine-tune' });
      expect(stack.emulator.requests.at(-1)).toMatchObject({ path: '/openai/models', query: { 'api-version': '2024-10-21' } });
      const wrongKey = new OpenAI({ apiKey: 'wrong', baseURL: stack.baseURL, maxRetries: 0 });
      await expect(wrongKey.models.list()).rejects.toMatchObject({ status: 401 });
    } finally {
      await stack.close();
    }
  });
});

describe('a route family api-version setting', () => {
  it('is sent for its family only, and one that lacks the API reaches the client as Azure answers it', async () => {
    const stack = await startStack({
      env: { AZURE_OPENAI_MODEL_MAPPER: MAPPER, AZURE_OPENAI_API_VERSION_RESPONSES: '2025-03-01-preview', AZURE_OPENAI_API_VERSION_AUDIO: '2024-10-21' },
    });
    try {
      const client = new OpenAI({ apiKey: EMULATOR_API_KEY, baseURL: stack.baseURL, maxRetries: 0 });
      await client.responses.create({ model: 'my-gpt', input: 'hi' });
      expect(stack.emulator.requests.at(-1)?.query['api-version']).toBe('2025-03-01-preview');
      await client.chat.completions.create({ model: 'my-gpt', messages: [{ role: 'user', content: 'hi' }] });
      expect(stack.emulator.requests.at(-1)?.query['api-version']).toBe('2024-10-21');
      // Transcription is GA in 2024-10-21; speech exists only in previews, so Azure answers 404.
      const transcription = await client.audio.transcriptions.create({ file: await toFile(makeWav(0.1), 'a.wav'), model: 'whisper-1' });
      expect(transcription.text).toContain('0.10 seconds');
      const error = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'hi' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect(error).toMatchObject({ status: 404, code: '404', message: expect.stringContaining('Resource not found') });
    } finally {
      await stack.close();
    }
  });
});
