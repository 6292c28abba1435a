/**
 * The Azure Functions layer: every route-table entry is registered as its own function (plus the catch-all),
 * and the registered handlers serve real HttpRequests through the core, against the emulator.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { app, HttpRequest, InvocationContext, type HttpFunctionOptions, type HttpHandler, type HttpResponseInit } from '@azure/functions';
import { loadConfig } from '../../src/core/config/config';
import { FUNCTION_NAMES, functionRoute } from '../../src/core/routes/routes';
import { AzureOpenAIEmulator, EMULATOR_API_KEY } from '../../src/emulator/server';
import { FRONT_END_LIMIT_SECONDS, functionsEnvironment } from '../../src/hosting/functions/functionsApp';

const FUNCTIONS_DIR = join(__dirname, '..', '..', 'src', 'functions');

interface Registration {
  route: string | undefined;
  methods: HttpFunctionOptions['methods'];
  handler: HttpHandler;
}

/** What the function files hand to `app.http`, by function name (outside a worker the library only warns). */
function recordRegistrations(functionsApp: typeof app): Map<string, Registration> {
  const registered = new Map<string, Registration>();
  jest.spyOn(functionsApp, 'http').mockImplementation((name: string, options: HttpFunctionOptions) => {
    registered.set(name, { route: options.route, methods: options.methods, handler: options.handler });
  });
  return registered;
}
const registeredFunctions = recordRegistrations(app);
let emulator: AzureOpenAIEmulator;
const logLines: string[] = [];
const savedEnv = { ...process.env };

beforeAll(async () => {
  emulator = await AzureOpenAIEmulator.start();
  process.env.AZURE_OPENAI_ENDPOINT = emulator.url;
  process.env.AZURE_OPENAI_MODEL_MAPPER = 'gpt-4o=gpt-4o,embedder=text-embedding-3-small';
  // The package's "test mode" and set-up messages.
  jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  jest.spyOn(console, 'debug').mockImplementation(() => undefined);
  // Load the function files the way the Functions host does: every file in src/functions.
  for (const file of readdirSync(FUNCTIONS_DIR).filter((f) => f.endsWith('.ts'))) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(join(FUNCTIONS_DIR, file));
  }
});

afterAll(async () => {
  process.env = savedEnv;
  jest.restoreAllMocks();
  await emulator.close();
});

function context(functionName: string): InvocationContext {
  return new InvocationContext({
    functionName,
    logHandler: (level, ...args) => logLines.push(`${level} ${args.map(String).join(' ')}`),
  });
}

async function invoke(functionName: string, init: ConstructorParameters<typeof HttpRequest>[0]): Promise<HttpResponseInit> {
  const registration = registeredFunctions.get(functionName);
  if (registration === undefined) throw new Error(`${functionName} is not registered`);
  const result = await registration.handler(new HttpRequest(init), context(functionName));
  return result;
}

async function bodyText(response: HttpResponseInit): Promise<string> {
  return new Response(response.body as ReadableStream<Uint8Array>).text();
}

const auth = { authorization: `Bearer ${EMULATOR_API_KEY}`, 'content-type': 'application/json' };

describe('registrations', () => {
  it('registers one function per route-table entry, from one file each, plus the catch-all', () => {
    const files = readdirSync(FUNCTIONS_DIR).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, '')).sort();
    const expected = [...FUNCTION_NAMES, 'zCatchAll'].sort();
    expect(files).toEqual(expected);
    expect([...registeredFunctions.keys()].sort()).toEqual(expected);
  });

  it('uses OpenAI paths under /v1 and accepts OPTIONS for preflights', () => {
    expect(registeredFunctions.get('chatCompletions')).toMatchObject({ route: 'v1/chat/completions', methods: ['POST', 'OPTIONS'] });
    expect(registeredFunctions.get('retrieveModel')).toMatchObject({ route: 'v1/models/{model}', methods: ['GET', 'OPTIONS'] });
    for (const name of FUNCTION_NAMES) {
      const { route, methods } = functionRoute(name);
      expect(registeredFunctions.get(name)).toMatchObject({ route, methods: [...methods, 'OPTIONS'] });
    }
    expect(registeredFunctions.get('zCatchAll')?.route).toBe('{*path}');
    expect(registeredFunctions.get('zCatchAll')?.methods).toEqual(expect.arrayContaining(['GET', 'POST', 'DELETE', 'OPTIONS']));
  });
});

describe('handlers', () => {
  it('serves a chat completion from an HttpRequest', async () => {
    const response = await invoke('chatCompletions', {
      method: 'POST',
      url: 'https://my-app.azurewebsites.net/v1/chat/completions',
      headers: auth,
      body: { string: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'from a function' }] }) },
    });
    expect(response.status).toBe(200);
    const completion = JSON.parse(await bodyText(response)) as { choices: { message: { content: string } }[] };
    expect(completion.choices[0]?.message.content).toContain('You said: from a function');
    expect(emulator.requests.at(-1)?.path).toBe('/openai/deployments/gpt-4o/chat/completions');
  });

  it('returns a stream as a ReadableStream body, event by event', async () => {
    const response = await invoke('chatCompletions', {
      method: 'POST',
      url: 'https://my-app.azurewebsites.net/v1/chat/completions',
      headers: auth,
      body: { string: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'stream' }] }) },
    });
    expect(response.body).toBeInstanceOf(ReadableStream);
    expect(new Headers(response.headers as Headers).get('content-type')).toMatch(/^text\/event-stream/);
    const text = await bodyText(response);
    // Azure's prompt-filter chunk went for an SSE comment (stream compatibility is on).
    expect(text.startsWith(':\n\ndata: {')).toBe(true);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('serves embeddings and the model list', async () => {
    const embeddings = await invoke('embeddings', {
      method: 'POST',
      url: 'https://my-app.azurewebsites.net/v1/embeddings',
      headers: auth,
      body: { string: JSON.stringify({ model: 'embedder', input: 'x', encoding_format: 'float' }) },
    });
    expect(embeddings.status).toBe(200);
    const models = await invoke('listModels', { method: 'GET', url: 'https://my-app.azurewebsites.net/v1/models', headers: auth });
    expect(JSON.parse(await bodyText(models))).toMatchObject({ object: 'list', data: [{ id: 'gpt-4o' }, { id: 'embedder' }] });
  });

  it('lets the catch-all serve a request meant for another function', async () => {
    const response = await invoke('zCatchAll', {
      method: 'POST',
      url: 'https://my-app.azurewebsites.net/v1/chat/completions',
      headers: auth,
      params: { path: 'v1/chat/completions' },
      body: { string: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'via catch-all' }] }) },
    });
    expect(response.status).toBe(200);
    expect(await bodyText(response)).toContain('You said: via catch-all');
  });

  it('has the catch-all answer preflights, billing mocks, and 404 for the rest', async () => {
    const preflight = await invoke('zCatchAll', { method: 'OPTIONS', url: 'https://my-app.azurewebsites.net/v1/anything' });
    expect(preflight.status).toBe(204);
    const billing = await invoke('zCatchAll', { method: 'GET', url: 'https://my-app.azurewebsites.net/dashboard/billing/subscription', headers: auth });
    expect(billing.status).toBe(200);
    const unknown = await invoke('zCatchAll', { method: 'GET', url: 'https://my-app.azurewebsites.net/v1/realtime/sessions', headers: auth });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(await bodyText(unknown))).toMatchObject({ error: { type: 'invalid_request_error', code: 'unknown_url' } });
  });

  it('serves a family of routes from one function: an upload, then the list', async () => {
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob(['{"custom_id":"1"}\n']), 'in.jsonl');
    const upload = new Request('http://x/', { method: 'POST', body: form });
    const uploaded = await invoke('files', {
      method: 'POST',
      url: 'https://my-app.azurewebsites.net/v1/files',
      headers: { authorization: `Bearer ${EMULATOR_API_KEY}`, 'content-type': upload.headers.get('content-type')! },
      params: { rest: '' },
      body: { bytes: new Uint8Array(await upload.arrayBuffer()) },
    });
    expect(uploaded.status).toBe(200);
    const file = JSON.parse(await bodyText(uploaded)) as { id: string; filename: string };
    expect(file.filename).toBe('in.jsonl');
    const content = await invoke('files', {
      method: 'GET',
      url: `https://my-app.azurewebsites.net/v1/files/${file.id}/content`,
      headers: auth,
      params: { rest: `${file.id}/content` },
    });
    expect(await bodyText(content)).toBe('{"custom_id":"1"}\n');
    expect(emulator.requests.at(-1)?.path).toBe(`/openai/files/${file.id}/content`);
  });

  it('logs through the invocation context, without the key', async () => {
    await invoke('chatCompletions', {
      method: 'POST',
      url: 'https://my-app.azurewebsites.net/v1/chat/completions',
      headers: { 'api-key': EMULATOR_API_KEY, 'content-type': 'application/json' },
      body: { string: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'log me' }] }) },
    }).then(bodyText);
    expect(logLines.some((line) => line.includes('"route":"chatCompletions"'))).toBe(true);
    expect(logLines.join('\n')).not.toContain(EMULATOR_API_KEY);
  });
});

describe('configuration at start-up', () => {
  // The proxy logs why it could not start, once per attempt, as an error: expected here, so kept, and checked.
  let errors: jest.SpyInstance;
  beforeEach(() => {
    errors = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => {
    expect(errors.mock.calls.map((call) => String(call[0])).every((line) => line.startsWith('the proxy could not start'))).toBe(true);
    errors.mockRestore();
  });

  /** A function's handler, loaded afresh with the given app settings, which stay until `restore`. */
  function loadHandler(file: string, name: string, settings: Record<string, string | undefined>): { handler: HttpHandler; restore: () => void } {
    const env = { ...process.env };
    for (const [key, value] of Object.entries(settings)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    let handler: HttpHandler | undefined;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const isolated = recordRegistrations((require('@azure/functions') as typeof import('@azure/functions')).app);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(join(FUNCTIONS_DIR, file));
      handler = isolated.get(name)?.handler;
    });
    if (handler === undefined) throw new Error(`${name} did not register`);
    return { handler, restore: () => void (process.env = env) };
  }

  it('answers 503 with the reason while App Configuration cannot be read, instead of failing each call unexplained', async () => {
    // A store on a port nobody listens on, tried for one second.
    const { handler, restore } = loadHandler('embeddings.ts', 'embeddings', {
      AZURE_OPENAI_MODEL_MAPPER: undefined,
      AZURE_APPCONFIG_CONNECTION_STRING: `Endpoint=http://127.0.0.1:9;Id=x;Secret=${Buffer.from('s').toString('base64')}`,
      AZURE_APPCONFIG_STARTUP_TIMEOUT_SECONDS: '1',
    });
    try {
      const response = (await handler(
        new HttpRequest({ method: 'POST', url: 'https://my-app.azurewebsites.net/v1/embeddings', headers: auth, body: { string: '{"model":"x","input":"y"}' } }),
        context('embeddings'),
      )) as HttpResponseInit;
      expect(response.status).toBe(503);
      expect(new Headers(response.headers as Headers).get('retry-after')).toBe('10');
      expect(JSON.parse(await bodyText(response))).toMatchObject({
        error: { code: 'proxy_not_ready', type: 'server_error', message: expect.stringContaining('Could not load settings from Azure App Configuration at http://127.0.0.1:9') },
      });
    } finally {
      restore();
    }
  });

  it('registers its function with a bad setting, and answers 503 naming the setting', async () => {
    const { handler, restore } = loadHandler('chatCompletions.ts', 'chatCompletions', { AZURE_OPENAI_MODEL_MAPPER: 'gpt-4o=ok,broken' });
    try {
      const response = (await handler(
        new HttpRequest({ method: 'POST', url: 'https://my-app.azurewebsites.net/v1/chat/completions', headers: auth, body: { string: '{}' } }),
        context('chatCompletions'),
      )) as HttpResponseInit;
      expect(response.status).toBe(503);
      expect(JSON.parse(await bodyText(response))).toMatchObject({
        error: { code: 'proxy_not_ready', message: expect.stringContaining('AZURE_OPENAI_MODEL_MAPPER: entry 2 "broken"') },
      });
    } finally {
      restore();
    }
  });
});

describe('limits under the Functions host', () => {
  it("defaults the attempt timeout and the deadline below the front end's 230 s, and leaves set values alone", () => {
    const defaults = functionsEnvironment({ AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com' });
    expect(Number(defaults.PROXY_ATTEMPT_TIMEOUT_SECONDS)).toBeLessThan(FRONT_END_LIMIT_SECONDS);
    expect(Number(defaults.PROXY_DEADLINE_SECONDS)).toBeLessThan(FRONT_END_LIMIT_SECONDS);
    expect(loadConfig(defaults).routing).toMatchObject({ attemptTimeoutMs: 180_000, deadlineMs: 200_000 });
    expect(functionsEnvironment({ PROXY_DEADLINE_SECONDS: '60', PROXY_ATTEMPT_TIMEOUT_SECONDS: '' })).toMatchObject({ PROXY_DEADLINE_SECONDS: '60', PROXY_ATTEMPT_TIMEOUT_SECONDS: '180' });
    // The local host keeps its own.
    expect(loadConfig({ AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com' }).routing).toMatchObject({ attemptTimeoutMs: 300_000, deadlineMs: 600_000 });
  });
});
