import { singleBackend } from '../../../src/core/config/modelMap';
import { assembleConfig, checkEnvironment, ConfigError, DEFAULT_API_VERSION, DEFAULT_MAX_BODY_BYTES, loadConfig, sha256 } from '../../../src/core/config/config';

const endpoint = { AZURE_OPENAI_ENDPOINT: 'https://my-resource.openai.azure.com/' };

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has defaults for everything but the endpoint', () => {
    const config = loadConfig(endpoint);
    expect(config.mode).toBe('azure');
    expect(config.azure.endpoint).toBe('https://my-resource.openai.azure.com');
    expect(config.azure.apiVersion).toBe(DEFAULT_API_VERSION);
    expect(config.azure.apiVersion).toBe('2024-10-21');
    expect(config.azure.fixedApiKey).toBeUndefined();
    expect(config.azure.modelMap.size).toBe(0);
    expect(config.streamCompat).toBe(true);
    expect(config.maxBodyBytes).toBe(DEFAULT_MAX_BODY_BYTES);
    expect(config.maxBodyBytes).toBe(25 * 1024 * 1024);
    expect(config.openai.baseUrl).toBe('https://api.openai.com');
    expect(config.corsAllowOrigin).toBe('*');
  });

  it.each(['AZURE_OPENAI_API_VERSION', 'AZURE_OPENAI_APIVERSION', 'AZURE_OPENAI_API_VER'])('accepts the api-version as %s', (name) => {
    expect(loadConfig({ ...endpoint, [name]: '2025-04-01-preview' }).azure.apiVersion).toBe('2025-04-01-preview');
  });

  it('prefers the new api-version name over the old aliases', () => {
    const config = loadConfig({ ...endpoint, AZURE_OPENAI_API_VERSION: '2024-06-01', AZURE_OPENAI_APIVERSION: '2023-05-15' });
    expect(config.azure.apiVersion).toBe('2024-06-01');
  });

  it('requires the endpoint in azure mode only', () => {
    expect(problemsOf({})).toEqual(['AZURE_OPENAI_ENDPOINT: required, e.g. https://my-resource.openai.azure.com']);
    expect(loadConfig({ AZURE_OPENAI_PROXY_MODE: 'openai' }).mode).toBe('openai');
  });

  it('reports every bad setting at once, by name', () => {
    const problems = problemsOf({
      AZURE_OPENAI_ENDPOINT: 'my-resource',
      AZURE_OPENAI_APIVERSION: 'latest',
      AZURE_OPENAI_MODEL_MAPPER: 'gpt-4o',
      AZURE_OPENAI_STREAM_COMPAT: 'maybe',
      PROXY_MAX_BODY_BYTES: '-5',
      AZURE_OPENAI_PROXY_MODE: 'both',
    });
    expect(problems).toHaveLength(6);
    for (const name of ['AZURE_OPENAI_ENDPOINT', 'AZURE_OPENAI_APIVERSION', 'AZURE_OPENAI_MODEL_MAPPER: entry 1 "gpt-4o"', 'AZURE_OPENAI_STREAM_COMPAT', 'PROXY_MAX_BODY_BYTES', 'AZURE_OPENAI_PROXY_MODE']) {
      expect(problems.some((p) => p.startsWith(name))).toBe(true);
    }
  });

  it('refuses a held Azure key without client keys, unless anonymous use is explicit', () => {
    const problems = problemsOf({ ...endpoint, AZURE_OPENAI_TOKEN: 'azure-secret' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/PROXY_API_KEYS/);
    expect(problems[0]).not.toContain('azure-secret');
    expect(loadConfig({ ...endpoint, AZURE_OPENAI_TOKEN: 'k', PROXY_ALLOW_ANONYMOUS: 'true' }).allowAnonymous).toBe(true);
    const config = loadConfig({ ...endpoint, AZURE_OPENAI_TOKEN: 'k', PROXY_API_KEYS: ' a , b ,,' });
    expect(config.clientKeys).toEqual([
      { name: 'env-1', digest: sha256('a') },
      { name: 'env-2', digest: sha256('b') },
    ]);
    expect(config.azure).toMatchObject({ auth: 'key', fixedApiKey: 'k' });
  });

  it('chooses the upstream credential, and refuses contradictions', () => {
    expect(loadConfig(endpoint).azure.auth).toBe('passthrough');
    expect(loadConfig({ ...endpoint, AZURE_OPENAI_AUTH: 'managed-identity', PROXY_API_KEYS: 'c', AZURE_CLIENT_ID: 'id-1' }).azure).toMatchObject({
      auth: 'managed-identity',
      managedIdentityClientId: 'id-1',
    });
    expect(problemsOf({ ...endpoint, AZURE_OPENAI_AUTH: 'managed-identity' })[0]).toMatch(/^AZURE_OPENAI_AUTH is managed-identity, so the proxy holds/);
    expect(problemsOf({ ...endpoint, AZURE_OPENAI_AUTH: 'key', PROXY_API_KEYS: 'c' })).toEqual(['AZURE_OPENAI_AUTH: "key" needs the key in AZURE_OPENAI_TOKEN (or AZURE_OPENAI_API_KEY)']);
    expect(problemsOf({ ...endpoint, AZURE_OPENAI_AUTH: 'passthrough', AZURE_OPENAI_TOKEN: 'k' })[0]).toMatch(/does not use AZURE_OPENAI_TOKEN/);
    expect(problemsOf({ ...endpoint, AZURE_OPENAI_AUTH: 'entra' })[0]).toMatch(/^AZURE_OPENAI_AUTH: /);
  });

  it('reads the App Configuration settings, and then lets the store supply client keys and the endpoint', () => {
    const config = loadConfig({
      ...endpoint,
      AZURE_OPENAI_AUTH: 'managed-identity',
      AZURE_APPCONFIG_ENDPOINT: 'https://my-store.azconfig.io',
      AZURE_APPCONFIG_LABEL: 'prod',
    });
    expect(config.appConfiguration).toEqual({ endpoint: 'https://my-store.azconfig.io', keyPrefix: 'openai-proxy:', label: 'prod', refreshSeconds: 30, startupTimeoutSeconds: 15, allowedBackendHosts: [] });
    expect(problemsOf({ AZURE_APPCONFIG_CONNECTION_STRING: 'Endpoint=https://s.azconfig.io;Id=x;Secret=c2VjcmV0' })).toEqual([
      'AZURE_OPENAI_ENDPOINT: required, e.g. https://my-resource.openai.azure.com (or the App Configuration key openai-proxy:endpoint)',
    ]);
    const secret = 'not-a-connection-string-but-secret';
    const problems = problemsOf({ ...endpoint, AZURE_APPCONFIG_CONNECTION_STRING: secret });
    expect(problems[0]).toMatch(/^AZURE_APPCONFIG_CONNECTION_STRING: \(value not shown\) must be of the form Endpoint=[^;]*;Id=\.\.\.;Secret=\.\.\.$/);
    expect(problems.join()).not.toContain(secret);
  });

  it('leaves only the endpoint to a store not read yet, at the start-up check', () => {
    const store = { AZURE_APPCONFIG_ENDPOINT: 'https://my-store.azconfig.io' };
    expect(checkEnvironment(store)?.endpoint).toBe('https://my-store.azconfig.io');
    expect(() => checkEnvironment({})).toThrow('AZURE_OPENAI_ENDPOINT: required');
    expect(() => checkEnvironment({ ...store, AZURE_OPENAI_APIVERSION: 'latest' })).toThrow('AZURE_OPENAI_APIVERSION: "latest" must look like');
    expect(checkEnvironment(endpoint)).toBeUndefined();
  });

  it('lays App Configuration values over the environment, naming the store key in problems', () => {
    const config = assembleConfig(
      { ...endpoint, AZURE_OPENAI_MODEL_MAPPER: 'gpt-4o=env-4o,gpt-4=env-4', AZURE_OPENAI_API_VERSION: '2024-06-01' },
      {
        settings: { apiVersion: '2025-03-01-preview', streamCompat: 'false' },
        models: new Map([['gpt-4o', { backends: [{ deployment: 'store-4o', endpoint: 'https://other.openai.azure.com', priority: 1, weight: 1 }] }]]),
        clientKeys: [],
      },
    );
    expect(config.azure.apiVersion).toBe('2025-03-01-preview');
    expect(config.streamCompat).toBe(false);
    expect(config.azure.modelMap.explicit('gpt-4o')).toEqual({ backends: [{ deployment: 'store-4o', endpoint: 'https://other.openai.azure.com', priority: 1, weight: 1 }] });
    expect(config.azure.modelMap.explicit('gpt-4')).toEqual(singleBackend('env-4'));
    expect(() => assembleConfig(endpoint, { settings: { apiVersion: 'latest' }, models: new Map(), clientKeys: [] })).toThrow(
      'App Configuration openai-proxy:api-version: "latest" must look like',
    );
  });

  it('accepts AZURE_OPENAI_API_KEY as the held key', () => {
    expect(loadConfig({ ...endpoint, AZURE_OPENAI_API_KEY: 'k', PROXY_API_KEYS: 'c' }).azure.fixedApiKey).toBe('k');
  });

  it('gives each route family an api-version: previews where only previews serve, else the global one', () => {
    expect(loadConfig(endpoint).azure.apiVersions).toEqual({
      inference: '2024-10-21',
      images: '2025-04-01-preview',
      audio: '2025-04-01-preview',
      files: '2024-10-21',
      responses: '2025-04-01-preview',
      assistants: '2025-04-01-preview',
    });
    const preview = loadConfig({ ...endpoint, AZURE_OPENAI_API_VERSION: '2025-03-01-preview', AZURE_OPENAI_API_VERSION_FILES: '2024-06-01' });
    expect(preview.azure.apiVersions).toMatchObject({ inference: '2025-03-01-preview', responses: '2025-03-01-preview', files: '2024-06-01' });
    expect(preview.azure.apiShape).toBe('dated');
  });

  it('switches to the v1 shape with v1 or preview, where families may only choose v1 or preview', () => {
    const v1 = loadConfig({ ...endpoint, AZURE_OPENAI_API_VERSION: 'v1', AZURE_OPENAI_API_VERSION_RESPONSES: 'preview' });
    expect(v1.azure.apiShape).toBe('v1');
    expect(v1.azure.apiVersions).toMatchObject({ inference: 'v1', files: 'v1', responses: 'preview' });
    expect(problemsOf({ ...endpoint, AZURE_OPENAI_API_VERSION: 'v1', AZURE_OPENAI_API_VERSION_AUDIO: '2025-04-01-preview' })[0]).toMatch(
      /^AZURE_OPENAI_API_VERSION_AUDIO: "2025-04-01-preview" does not fit AZURE_OPENAI_API_VERSION "v1"/,
    );
    expect(problemsOf({ ...endpoint, AZURE_OPENAI_API_VERSION_IMAGES: 'preview' })[0]).toMatch(/^AZURE_OPENAI_API_VERSION_IMAGES: "preview" does not fit/);
  });

  it('parses booleans and the mapper', () => {
    const config = loadConfig({ ...endpoint, AZURE_OPENAI_STREAM_COMPAT: 'OFF', AZURE_OPENAI_MODEL_MAPPER: 'gpt-4o=prod' });
    expect(config.streamCompat).toBe(false);
    expect(config.azure.modelMap.explicit('gpt-4o')).toEqual(singleBackend('prod'));
  });
});

describe('problems reported truthfully, once each', () => {
  it('says a missing key once, not once per mapped model, and never that a key is set when it is not', () => {
    let problems: readonly string[] = [];
    try {
      loadConfig({ AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com', AZURE_OPENAI_AUTH: 'key', AZURE_OPENAI_MODEL_MAPPER: 'a=a,b=b,c=c' });
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain('AZURE_OPENAI_AUTH: "key" needs the key in AZURE_OPENAI_TOKEN');
    expect(problems[1]).toMatch(/^AZURE_OPENAI_AUTH is key, so the proxy holds the Azure credential/);
    expect(problems.join('\n')).not.toContain('is set');
  });
});

describe('an endpoint pasted in another form', () => {
  it("takes the origin of the portal's Target URI, and says so", () => {
    const config = loadConfig({
      AZURE_OPENAI_ENDPOINT: 'https://my-aoai.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2025-01-01-preview',
      AZURE_OPENAI_MODEL_MAPPER: 'gpt-4o=gpt-4o',
    });
    expect(config.azure.endpoint).toBe('https://my-aoai.openai.azure.com');
    expect(config.notices).toEqual([expect.stringContaining('AZURE_OPENAI_ENDPOINT: using https://my-aoai.openai.azure.com, the origin of')]);
  });

  it('takes the host names Azure OpenAI is served from, and a trailing slash, without a word', () => {
    for (const endpoint of ['https://my-ai.cognitiveservices.azure.com/', 'https://my-hub.services.ai.azure.com', 'https://my-aoai.openai.azure.com/']) {
      const config = loadConfig({ AZURE_OPENAI_ENDPOINT: endpoint, AZURE_OPENAI_MODEL_MAPPER: 'gpt-4o=gpt-4o' });
      expect(config.azure.endpoint).toBe(endpoint.replace(/\/$/, ''));
      expect(config.notices).toEqual([]);
    }
  });
});

describe('a configuration that would leave a model picker empty', () => {
  it('says so, with what to set, when no model is mapped or listed from Azure', () => {
    expect(loadConfig({ AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com' }).notices).toEqual([expect.stringMatching(/^No model map: GET \/v1\/models lists no model/)]);
    expect(loadConfig({ AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com', AZURE_OPENAI_MODELS_FROM_AZURE: 'true' }).notices).toEqual([]);
  });
});

describe('api-versions against the ones Azure has', () => {
  const base = { AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com', AZURE_OPENAI_MODEL_MAPPER: 'gpt-4o=gpt-4o' };
  it.each([
    ['2024-13-45', /AZURE_OPENAI_API_VERSION: "2024-13-45" is not a date/],
    ['2024-10-22', /AZURE_OPENAI_API_VERSION: "2024-10-22" is not an api-version of Azure OpenAI \(a typo\?\)/],
  ])('refuses %s, saying what is expected', (version, message) => {
    expect(() => loadConfig({ ...base, AZURE_OPENAI_API_VERSION: version })).toThrow(message);
  });

  it('passes on a version newer than it knows, and says so; a known one, or v1, without a word', () => {
    expect(loadConfig({ ...base, AZURE_OPENAI_API_VERSION: '2027-01-01-preview' }).notices).toEqual([expect.stringContaining('is newer than the api-versions this proxy knows')]);
    for (const version of ['2024-10-21', '2025-04-01-preview', 'v1']) expect(loadConfig({ ...base, AZURE_OPENAI_API_VERSION: version }).notices).toEqual([]);
    expect(() => loadConfig({ ...base, AZURE_OPENAI_API_VERSION_AUDIO: '2025-02-30-preview' })).toThrow(/AZURE_OPENAI_API_VERSION_AUDIO: "2025-02-30-preview" is not a date/);
  });
});

describe('problem messages a person can act on', () => {
  it('name the setting, show the value (never a secret), and say what is expected, in words', () => {
    const problems = problemsOf({
      AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com',
      PROXY_MAX_ATTEMPTS: 'three',
      PROXY_DEADLINE_SECONDS: '-5',
      AZURE_OPENAI_STREAM_COMPAT: 'maybe',
      AZURE_OPENAI_AUTH: 'token',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'PROXY_MAX_ATTEMPTS: "three" is not a whole number above 0',
        'PROXY_DEADLINE_SECONDS: "-5" is not a number of seconds above 0',
        'AZURE_OPENAI_STREAM_COMPAT: "maybe" is not true or false',
        'AZURE_OPENAI_AUTH: "token" is not passthrough, key or managed-identity',
      ]),
    );
    expect(problems.join('\n')).not.toMatch(/Invalid input|expected number|received NaN/);
  });
});
