/**
 * CORS for browser chat UIs on other origins: one origin, a list (answered with the request's own origin when it is
 * in the list, with Vary: Origin), or any; the proxy's own headers readable by the page; and a value that is not an
 * origin refused at start-up with the fix, instead of every browser call failing later.
 */
import { loadConfig } from '../../src/core/config/config';
import { EMULATOR_API_KEY } from '../../src/emulator/server';
import { startStack, type Stack } from '../support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { PROXY_CORS_ALLOW_ORIGIN: 'https://chat.example, https://ui.example:8443/' } });
});
afterAll(() => stack.close());

async function fromOrigin(origin: string, preflight = false): Promise<Response> {
  return fetch(`${stack.baseURL}/models`, {
    method: preflight ? 'OPTIONS' : 'GET',
    headers: preflight ? { origin, 'access-control-request-method': 'GET' } : { origin, authorization: `Bearer ${EMULATOR_API_KEY}` },
  });
}

describe('CORS', () => {
  it.each([false, true])('answers an origin of the list with that origin and Vary: Origin (preflight: %s)', async (preflight) => {
    for (const origin of ['https://chat.example', 'https://ui.example:8443']) {
      const response = await fromOrigin(origin, preflight);
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
      expect(response.headers.get('vary')).toContain('Origin');
    }
  });

  it('gives another origin no allow header, so the browser refuses it', async () => {
    const response = await fromOrigin('https://evil.example');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it("lets the page read the proxy's own headers, the request id among them", async () => {
    const response = await fromOrigin('https://chat.example');
    const exposed = (response.headers.get('access-control-expose-headers') ?? '').split(', ');
    expect(exposed).toEqual(expect.arrayContaining(['x-proxy-request-id', 'x-proxy-backend', 'x-proxy-attempts']));
  });

  it('refuses at start-up a value that is not an origin, saying what is expected', () => {
    expect(() => loadConfig({ AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com', PROXY_CORS_ALLOW_ORIGIN: 'https://chat.example/app' })).toThrow(
      /PROXY_CORS_ALLOW_ORIGIN: "https:\/\/chat\.example\/app" has "https:\/\/chat\.example\/app", which is not an origin/,
    );
    expect(loadConfig({ AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com' }).corsAllowOrigin).toBe('*');
  });
});
