/**
 * Multipart uploads to deployment-scoped routes: the model field may come before or after the file, the body
 * streams through, and a large upload does not grow the proxy's memory by its size twice.
 */
import { readFileSync } from 'node:fs';
import { AzureOpenAIEmulator, EMULATOR_API_KEY } from '../../src/emulator/server';
import { startStack, type Stack } from '../support/stack';
import { runProxyProcess } from '../support/proxyProcess';
import { makeWav } from '../support/wav';

const BOUNDARY = 'test-boundary-7MA4YWxkTrZu0gW';

function multipart(fields: Array<[name: string, value: string | Buffer, filename?: string]>): Buffer {
  const parts = fields.flatMap(([name, value, filename]) => [
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"${filename === undefined ? '' : `; filename="${filename}"`}\r\n` +
        `${filename === undefined ? '' : 'Content-Type: audio/wav\r\n'}\r\n`,
    ),
    Buffer.isBuffer(value) ? value : Buffer.from(value),
    Buffer.from('\r\n'),
  ]);
  return Buffer.concat([...parts, Buffer.from(`--${BOUNDARY}--\r\n`)]);
}

const HEADERS = { authorization: `Bearer ${EMULATOR_API_KEY}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` };

describe.each([
  { shape: 'dated', env: {} },
  { shape: 'v1', env: { AZURE_OPENAI_API_VERSION: 'v1' } },
] as const)('uploads through the $shape API', ({ shape, env }) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { AZURE_OPENAI_MODEL_MAPPER: 'whisper-1=whisper', PROXY_MAX_BODY_BYTES: String(1024 * 1024), ...env } });
  });
  afterAll(() => stack.close());

  const transcribe = (body: Buffer | ReadableStream<Uint8Array>, headers: Record<string, string> = HEADERS) =>
    fetch(`${stack.baseURL}/audio/transcriptions`, { method: 'POST', headers, body, duplex: 'half' });

  it.each([
    ['before', [['model', 'whisper-1'], ['file', makeWav(0.25), 'a.wav'], ['response_format', 'text']]],
    ['after', [['file', makeWav(0.25), 'a.wav'], ['response_format', 'text'], ['model', 'whisper-1']]],
  ] as const)('reads the model field %s the file, and forwards the body exactly (but for the v1 model)', async (_where, fields) => {
    const body = multipart(fields.map((f) => [...f]));
    const response = await transcribe(body);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('Emulated transcription by whisper of a.wav: 0.25 seconds of 16000 Hz audio.');
    const upstream = stack.emulator.requests.at(-1)!;
    const expected = shape === 'dated' ? body : Buffer.from(body.toString('latin1').replace('\r\n\r\nwhisper-1\r\n', '\r\n\r\nwhisper\r\n'), 'latin1');
    expect(upstream.bodyBytes).toBe(expected.length);
    expect(upstream.headers['content-length']).toBe(String(expected.length));
    expect(Buffer.from(upstream.body, 'utf8').equals(Buffer.from(expected.subarray(0, 64 * 1024).toString('utf8'), 'utf8'))).toBe(true);
  });

  it('answers 400 without a model field, for a non-multipart body, and over the size limit; nothing reaches Azure', async () => {
    const before = stack.emulator.requests.length;
    const noModel = await transcribe(multipart([['file', makeWav(0.1), 'a.wav']]));
    expect(noModel.status).toBe(400);
    expect(await noModel.json()).toMatchObject({ error: { code: 'missing_required_parameter', param: 'model' } });
    const json = await transcribe(Buffer.from('{"model":"whisper-1"}'), { ...HEADERS, 'content-type': 'application/json' });
    expect(await json.json()).toMatchObject({ error: { code: 'unsupported_content_type' } });
    const big = multipart([['file', makeWav(40), 'big.wav'], ['model', 'whisper-1']]);
    const tooBig = await transcribe(big);
    expect(tooBig.status).toBe(400);
    expect(await tooBig.json()).toMatchObject({ error: { code: 'request_too_large' } });
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < big.length; at += 64 * 1024) controller.enqueue(big.subarray(at, at + 64 * 1024));
        controller.close();
      },
    });
    expect(await (await transcribe(streamed)).json()).toMatchObject({ error: { code: 'request_too_large' } });
    expect(stack.emulator.requests.length).toBe(before);
  });
});

describe('a large upload', () => {
  // Large enough that V8's lag in collecting used chunks (some tens of MB) is small beside it.
  const SIZE = 160 * 1024 * 1024;

  /** The most memory the process has held resident (kB), from Linux's accounting. */
  function peakResidentBytes(pid: number): number {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (match?.[1] === undefined) throw new Error('no VmHWM in /proc status');
    return Number(match[1]) * 1024;
  }

  /**
   * Uploads SIZE bytes to a fresh proxy process (after a small warm-up upload, so one-time costs are not
   * counted) and returns how much its peak resident memory grew.
   */
  async function peakGrowth(emulatorUrl: string, modelFirst: boolean): Promise<number> {
    const proxy = runProxyProcess({ PORT: '0', AZURE_OPENAI_ENDPOINT: emulatorUrl, PROXY_MAX_BODY_BYTES: String(2 * SIZE) });
    try {
      const base = await proxy.listening();
      const upload = async (seconds: number): Promise<void> => {
        const file: [string, Buffer, string] = ['file', makeWav(seconds), 'big.wav'];
        const model: [string, string] = ['model', 'whisper'];
        const response = await fetch(`${base}/audio/transcriptions`, { method: 'POST', headers: HEADERS, body: multipart(modelFirst ? [model, file] : [file, model]) });
        expect(response.status).toBe(200);
        expect((await response.json()) as { text: string }).toMatchObject({ text: expect.stringContaining('seconds of 16000 Hz audio') });
      };
      await upload(2);
      const before = peakResidentBytes(proxy.child.pid!);
      await upload(SIZE / 32_000); // 16-bit mono at 16 kHz: 32,000 bytes a second
      return peakResidentBytes(proxy.child.pid!) - before;
    } finally {
      await proxy.stop();
    }
  }

  it('grows the proxy process by a fraction of its size when the model comes first, and by its size once at most', async () => {
    const emulator = await AzureOpenAIEmulator.start();
    try {
      const modelFirst = await peakGrowth(emulator.url, true);
      const modelLast = await peakGrowth(emulator.url, false);
      expect(emulator.requests.at(-1)?.bodyBytes).toBeGreaterThan(SIZE);
      // Streamed through: a fraction of the size. Held until the model field: once, never twice.
      // The figures go in the assertion, so a failure shows them and a pass prints nothing.
      expect({ modelFirst, fraction: modelFirst < SIZE * 0.5 }).toEqual({ modelFirst, fraction: true });
      expect({ modelLast, once: modelLast < SIZE * 1.5 }).toEqual({ modelLast, once: true });
    } finally {
      await emulator.close();
    }
    // Two 160 MB uploads through fresh processes: about 17 s on a 2-core machine, more when it is busy.
  }, 60_000);
});
