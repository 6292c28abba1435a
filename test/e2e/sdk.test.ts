/**
 * End to end: the official `openai` SDK talks to the proxy on the local host, which talks to the Azure OpenAI
 * emulator, all on loopback.
 */
import OpenAI from 'openai';
import { EMULATOR_API_KEY } from '../../src/emulator/server';
import { startStack, type Stack } from '../support/stack';

let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack({
    env: { AZURE_OPENAI_MODEL_MAPPER: 'gpt-4o=gpt-4o,my-embedder=text-embedding-3-small,limited=gpt-4o-limited' },
    emulator: {
      deployments: [
        { name: 'gpt-4o', model: 'gpt-4o-2024-08-06', kind: 'chat' },
        { name: 'gpt-4.1', model: 'gpt-4.1-2025-04-14', kind: 'chat' },
        { name: 'gpt-35-turbo', model: 'gpt-35-turbo-0125', kind: 'chat' },
        { name: 'gpt-35-turbo-instruct', model: 'gpt-35-turbo-instruct-0914', kind: 'completions' },
        { name: 'text-embedding-3-small', model: 'text-embedding-3-small', kind: 'embeddings', dimensions: 1536 },
        { name: 'gpt-4o-limited', model: 'gpt-4o-2024-08-06', kind: 'chat', rateLimit: { requests: 1, windowMs: 60_000 } },
      ],
    },
  });
  client = new OpenAI({ apiKey: EMULATOR_API_KEY, baseURL: stack.baseURL, maxRetries: 0 });
});

afterAll(async () => {
  await stack.close();
});

function lastUpstreamRequest() {
  const request = stack.emulator.requests[stack.emulator.requests.length - 1];
  if (request === undefined) throw new Error('the emulator saw no request');
  return request;
}

describe('chat.completions', () => {
  it('answers a plain call through the mapped deployment', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Say hello' }],
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message.content).toContain('You said: Say hello');
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);
    const upstream = lastUpstreamRequest();
    expect(upstream.path).toBe('/openai/deployments/gpt-4o/chat/completions');
    expect(upstream.query['api-version']).toBe('2024-10-21');
    expect(upstream.headers['api-key']).toBe(EMULATOR_API_KEY);
    expect(upstream.headers.authorization).toBeUndefined();
  });

  it('streams, with the same content as the plain call and no empty-choices chunk', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Say hello' }],
      stream: true,
    });
    let text = '';
    let chunks = 0;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      chunks++;
      expect(chunk.choices.length).toBeGreaterThan(0);
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(chunks).toBeGreaterThan(5);
    expect(text).toBe('This is the Azure OpenAI emulator (deployment gpt-4o). You said: Say hello.');
    expect(finish).toBe('stop');
  });

  it('reports usage in the last chunk with stream_options.include_usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'count me' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks[chunks.length - 1]!;
    expect(last.choices).toEqual([]);
    expect(last.usage?.total_tokens).toBeGreaterThan(0);
  });

  it('calls tools, plain and streaming', async () => {
    const tools: OpenAI.Chat.ChatCompletionTool[] = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city', 'days'] },
        },
      },
    ];
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const completion = await client.chat.completions.create({ model: 'gpt-4o', messages, tools });
    const call = completion.choices[0]?.message.tool_calls?.[0];
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type === 'function' && call.function.name).toBe('get_weather');
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ city: 'emulated', days: 1 });

    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, tools, stream: true });
    let name = '';
    let args = '';
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta.tool_calls?.[0];
      name += delta?.function?.name ?? '';
      args += delta?.function?.arguments ?? '';
    }
    expect(name).toBe('get_weather');
    expect(JSON.parse(args)).toEqual({ city: 'emulated', days: 1 });

    const followUp = await client.chat.completions.create({
      model: 'gpt-4o',
      tools,
      messages: [...messages, completion.choices[0]!.message, { role: 'tool', tool_call_id: call!.id, content: 'sunny' }],
    });
    expect(followUp.choices[0]?.message.content).toBe('Tool result received: sunny');
  });

  it('passes vision content parts through', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ],
        },
      ],
    });
    expect(completion.choices[0]?.message.content).toContain('I received 1 image.');
    expect(JSON.parse(lastUpstreamRequest().body).messages[0].content[1].image_url.url).toBe('data:image/png;base64,iVBORw0KGgo=');
  });

  it('sends gpt-3.5-turbo to the gpt-35-turbo deployment, and dotted names unchanged', async () => {
    await client.chat.completions.create({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'x' }] });
    expect(lastUpstreamRequest().path).toBe('/openai/deployments/gpt-35-turbo/chat/completions');
    await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] });
    expect(lastUpstreamRequest().path).toBe('/openai/deployments/gpt-4.1/chat/completions');
  });

  it('works with a base URL without /v1', async () => {
    const bare = new OpenAI({ apiKey: EMULATOR_API_KEY, baseURL: stack.host.url, maxRetries: 0 });
    const completion = await bare.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'bare' }] });
    expect(completion.choices[0]?.message.content).toContain('You said: bare');
  });

  it('returns Azure request ids and rate-limit headers', async () => {
    const { response } = await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })
      .withResponse();
    expect(response.headers.get('apim-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('x-ratelimit-remaining-requests')).not.toBeNull();
  });
});

describe('completions and embeddings', () => {
  it('answers legacy completions, plain and streaming', async () => {
    const completion = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Once upon', max_tokens: 50 });
    expect(completion.choices[0]?.text).toBe(' Emulated completion of: Once upon');
    expect(lastUpstreamRequest().path).toBe('/openai/deployments/gpt-35-turbo-instruct/completions');

    const stream = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Once upon', max_tokens: 50, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(' Emulated completion of: Once upon');
  });

  it('returns embeddings in the SDK default (base64) and as floats', async () => {
    const viaBase64 = await client.embeddings.create({ model: 'my-embedder', input: ['alpha', 'beta'] });
    expect(viaBase64.data).toHaveLength(2);
    expect(viaBase64.data[0]?.embedding).toHaveLength(1536);
    const floats = await client.embeddings.create({ model: 'my-embedder', input: 'alpha', encoding_format: 'float' });
    const a = viaBase64.data[0]!.embedding;
    const b = floats.data[0]!.embedding;
    expect(b).toHaveLength(1536);
    expect(a.every((v, i) => Math.abs(v - b[i]!) < 1e-6)).toBe(true);
    expect(lastUpstreamRequest().path).toBe('/openai/deployments/text-embedding-3-small/embeddings');
    const small = await client.embeddings.create({ model: 'my-embedder', input: 'alpha', dimensions: 256 });
    expect(small.data[0]?.embedding).toHaveLength(256);
  });
});

describe('models', () => {
  it('lists the model map in OpenAI shape', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    expect(models.map((m) => m.id)).toEqual(['gpt-4o', 'my-embedder', 'limited']);
    expect(models[0]).toMatchObject({ object: 'model', owned_by: 'azure-openai' });
  });

  it('retrieves a mapped model and 404s an unknown one', async () => {
    expect(await client.models.retrieve('my-embedder')).toMatchObject({ id: 'my-embedder', object: 'model' });
    expect(await client.models.retrieve('gpt-3.5-turbo')).toMatchObject({ id: 'gpt-3.5-turbo' });
    await expect(client.models.retrieve('nope')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });
});

describe('failures reach the SDK as OpenAI errors', () => {
  it('401 from Azure for a wrong key', async () => {
    const wrong = new OpenAI({ apiKey: 'not-the-key', baseURL: stack.baseURL, maxRetries: 0 });
    const error = await wrong.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).message).toContain('Access denied due to invalid subscription key');
  });

  it('404 DeploymentNotFound for a model without a deployment', async () => {
    const error = await client.chat.completions.create({ model: 'gpt-5-nonexistent', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'DeploymentNotFound', type: 'invalid_request_error' });
  });

  it('429 with retry-after when the deployment quota is used up', async () => {
    await client.chat.completions.create({ model: 'limited', messages: [{ role: 'user', content: 'first' }] });
    const error = await client.chat.completions.create({ model: 'limited', messages: [{ role: 'user', content: 'second' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const rateLimit = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rateLimit.code).toBe('429');
    expect(Number(rateLimit.headers?.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(rateLimit.headers?.get('retry-after-ms'))).toBeGreaterThan(0);
  });

  it('400 content_filter with Azure details', async () => {
    const error = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'please EMULATOR_BLOCK this' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const badRequest = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(badRequest).toMatchObject({ code: 'content_filter', param: 'prompt', type: 'invalid_request_error' });
    expect(badRequest.error).toMatchObject({ innererror: { code: 'ResponsibleAIPolicyViolation' } });
  });
});
