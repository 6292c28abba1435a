/**
 * The local host's deliberate limits (small here, so the test is quick): headers trickled past their time are cut
 * with a 408, a body that stalls is cut, connections past the cap are refused, and the settings are read and checked.
 */
import { connect, type Socket } from 'node:net';
import { loadConfig } from '../../src/core/config/config';
import { createProxy } from '../../src/core/proxy';
import { AzureOpenAIEmulator, EMULATOR_API_KEY } from '../../src/emulator/server';
import { startLocalHost, type LocalHost } from '../../src/hosting/node/localHost';
import { localHostLimits } from '../../src/hosting/node/localMain';
import { capturingLogger } from '../support/stack';

let emulator: AzureOpenAIEmulator;
let host: LocalHost;
let port: number;

beforeAll(async () => {
  emulator = await AzureOpenAIEmulator.start();
  const proxy = createProxy(loadConfig({ AZURE_OPENAI_ENDPOINT: emulator.url }), { logger: capturingLogger([]) });
  host = await startLocalHost({ proxy, limits: { headersTimeoutMs: 500, requestTimeoutMs: 5000, bodyIdleTimeoutMs: 500, maxConnections: 3 } });
  port = Number(new URL(host.url).port);
});
afterAll(async () => {
  await host.close();
  await emulator.close();
});

/** A raw connection: what it received, and when it closed (ms after it opened), or undefined if still open. */
function rawConnection(): Promise<{ socket: Socket; received: () => string; closedAfter: () => Promise<number> }> {
  return new Promise((resolve) => {
    const opened = Date.now();
    let received = '';
    const socket = connect(port, '127.0.0.1', () => {
      const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now() - opened)));
      resolve({ socket, received: () => received, closedAfter: () => closed });
    });
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('error', () => undefined);
  });
}

describe('the local host limits', () => {
  it('cuts headers trickled past their time with a 408', async () => {
    const { socket, received, closedAfter } = await rawConnection();
    socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n');
    const after = await closedAfter();
    expect(after).toBeLessThan(3000);
    expect(received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('cuts a body that stalls', async () => {
    const { socket, closedAfter } = await rawConnection();
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${EMULATOR_API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":`);
    expect(await closedAfter()).toBeLessThan(3000);
  });

  it('cuts a body that stalls on a kept-alive connection, after a request served on it', async () => {
    const { socket, received, closedAfter } = await rawConnection();
    const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${EMULATOR_API_KEY}\r\nContent-Type: application/json\r\n`;
    const body = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    socket.write(`${head}Content-Length: ${body.length}\r\n\r\n${body}`);
    const opened = Date.now();
    while (!/^HTTP\/1\.1 200[\s\S]*\}$/.test(received()) && Date.now() - opened < 3000) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(received()).toMatch(/^HTTP\/1\.1 200/);
    // The connection stays open for the next request, which stalls midway through its body.
    await new Promise((resolve) => setTimeout(resolve, 700));
    const stalled = Date.now();
    socket.write(`${head}Content-Length: 1000\r\n\r\n{"model":`);
    await closedAfter();
    expect(Date.now() - stalled).toBeGreaterThanOrEqual(400);
    expect(Date.now() - stalled).toBeLessThan(3000);
  });

  it('refuses connections past its cap, and serves again once they go', async () => {
    const held = await Promise.all([rawConnection(), rawConnection(), rawConnection()]);
    const extra = await rawConnection();
    expect(await extra.closedAfter()).toBeLessThan(1000);
    for (const { socket } of held) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const response = await fetch(`${host.url}/v1/models`, { headers: { authorization: `Bearer ${EMULATOR_API_KEY}` } });
    expect(response.status).toBe(200);
  });

  it('reads its settings in seconds, and reports every bad one at once', () => {
    expect(localHostLimits({ PROXY_HEADERS_TIMEOUT_SECONDS: '5', PROXY_MAX_CONNECTIONS: '100' })).toEqual({
      headersTimeoutMs: 5000,
      requestTimeoutMs: 300_000,
      bodyIdleTimeoutMs: 30_000,
      maxConnections: 100,
    });
    expect(() => localHostLimits({ PROXY_BODY_IDLE_TIMEOUT_SECONDS: 'soon', PROXY_MAX_CONNECTIONS: '1.5' })).toThrow(
      /PROXY_BODY_IDLE_TIMEOUT_SECONDS: "soon" is not a positive number of seconds[\s\S]*PROXY_MAX_CONNECTIONS: "1.5" is not a positive whole number/,
    );
  });
});
