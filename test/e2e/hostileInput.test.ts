/**
 * What a hostile client sends must not reach Azure's URL, a response header or the log as it was sent: model names
 * that a built-in rename used to let through unchecked (a path, a control character, megabytes).
 */
import { EMULATOR_API_KEY } from '../../src/emulator/server';
import { startStack, type Stack } from '../support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

async function chat(model: string): Promise<Response> {
  return fetch(`${stack.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${EMULATOR_API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
}

describe('hostile model names', () => {
  it.each([
    ['a path', 'gpt-3.5-turbo/../../openai/deployments/other'],
    ['an escape sequence', 'gpt-3.5-turbo\u001b[31m'],
    ['a header break', 'gpt-3.5-turbo\r\nx-injected: yes'],
    ['two megabytes', `gpt-3.5-turbo${'a'.repeat(2 * 1024 * 1024)}`],
  ])('refuses %s with 404 model_not_found, sends nothing to Azure, and logs it bounded and escaped', async (_what, model) => {
    const before = stack.emulator.requests.length;
    const response = await chat(model);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('model_not_found');
    expect(response.headers.get('x-proxy-backend')).toBeNull();
    expect(stack.emulator.requests.length).toBe(before);
    const id = response.headers.get('x-proxy-request-id')!;
    const line = stack.logs.find((l) => l.includes(id));
    expect(line).toBeDefined();
    expect(line!.length).toBeLessThan(2000);
    expect([...line!].some((c) => c.charCodeAt(0) < 0x20)).toBe(false);
  });
});
