/**
 * `npm start`'s entry point, run as a process from the build (`npm test` builds first): with no endpoint it
 * starts the emulator and serves at once; a bad configuration stops it with a message that names the setting.
 */
import OpenAI from 'openai';
import { runProxyProcess } from '../support/proxyProcess';

describe('npm start', () => {
  it('serves the SDK at once through the bundled emulator, and says so', async () => {
    const proxy = runProxyProcess({ PORT: '0', EMULATOR_CHUNK_DELAY_MS: '0' });
    try {
      const url = await proxy.listening();
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
      const output = proxy.output;
      expect(output()).toMatch(/No AZURE_OPENAI_ENDPOINT set: using the bundled Azure OpenAI emulator at http:\/\/127\.0\.0\.1:\d+/);
      expect(output()).not.toMatch(/test mode/);
      const client = new OpenAI({ apiKey: 'emulator-key', baseURL: url, maxRetries: 0 });
      const completion = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] });
      expect(completion.choices[0]?.message.content).toContain('You said: hello');
      const models = await client.models.list();
      expect(models.data.map((m) => m.id)).toContain('gpt-4.1');
    } finally {
      await proxy.stop();
    }
    expect(proxy.output()).toContain('Azure OpenAI proxy stopped (SIGTERM)');
  });

  it("takes the portal's Target URI as the endpoint's origin, and says so in one line", async () => {
    const proxy = runProxyProcess({ PORT: '0', AZURE_OPENAI_ENDPOINT: 'https://my-aoai.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2025-01-01-preview' });
    try {
      await proxy.listening();
      expect(proxy.output()).toContain('AZURE_OPENAI_ENDPOINT: using https://my-aoai.openai.azure.com, the origin of');
      expect(proxy.output()).toContain('(upstream https://my-aoai.openai.azure.com)');
    } finally {
      await proxy.stop();
    }
  });

  it('listens where AZURE_OPENAI_PROXY_ADDRESS says, as the old image did', async () => {
    const proxy = runProxyProcess({ AZURE_OPENAI_PROXY_ADDRESS: '127.0.0.1:0' });
    try {
      expect(await proxy.listening()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    } finally {
      await proxy.stop();
    }
  });

  it.each([
    [{ AZURE_OPENAI_MODEL_MAPPER: 'gpt-4o=a,oops' }, /AZURE_OPENAI_MODEL_MAPPER: entry 2 "oops" is not of the form model=deployment/],
    [{ AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com', AZURE_OPENAI_TOKEN: 'held-azure-key' }, /set PROXY_API_KEYS/],
    [{ AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com', AZURE_OPENAI_API_VER: 'latest' }, /AZURE_OPENAI_API_VER: "latest" must look like 2024-10-21/],
  ])('refuses to start with %j', async (env, message) => {
    const { output, exited } = runProxyProcess({ PORT: '0', ...env });
    expect(await exited).toBe(1);
    expect(output()).toMatch(message);
    expect(output()).not.toContain('held-azure-key');
    expect(output()).not.toMatch(/\n\s+at /); // no stack trace
  });
});
