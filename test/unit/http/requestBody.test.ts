import { ProxyError } from '../../../src/core/errors/catalogue';
import { readBodyWithLimit, readJsonBody, requireModel } from '../../../src/core/http/requestBody';
import { proxyErrorOf } from '../../support/proxyError';

function post(body: string | Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string> = { 'content-type': 'application/json' }): Request {
  return new Request('http://proxy.test/v1/chat/completions', { method: 'POST', body, headers, duplex: 'half' });
}

describe('readJsonBody', () => {
  it('keeps the bytes exactly as sent', async () => {
    const text = '{ "model" : "gpt-4o",\n  "messages": [], "x-extra": "é"}';
    const body = await readJsonBody(post(text), 1000);
    expect(Buffer.from(body.bytes).toString('utf8')).toBe(text);
    expect(body.json.model).toBe('gpt-4o');
  });

  it('takes a missing content type as JSON, and refuses others', async () => {
    // A byte body gets no implicit content type (a string body would be text/plain).
    await expect(readJsonBody(post(new TextEncoder().encode('{"model":"m"}'), {}), 100)).resolves.toBeDefined();
    await expect(readJsonBody(post('{"model":"m"}', { 'content-type': 'application/json; charset=utf-8' }), 100)).resolves.toBeDefined();
    const error = await proxyErrorOf(readJsonBody(post('model=m', { 'content-type': 'application/x-www-form-urlencoded' }), 100));
    expect(error.status).toBe(400);
    expect(error.fields.code).toBe('unsupported_content_type');
  });

  it('refuses malformed JSON and non-objects', async () => {
    for (const text of ['{"model":', '', '[1]', '"str"', 'null']) {
      const error = await proxyErrorOf(readJsonBody(post(text), 100));
      expect(error.status).toBe(400);
      expect(error.fields.code).toBe('invalid_json');
    }
  });
});

describe('readBodyWithLimit', () => {
  it('refuses by Content-Length without reading', async () => {
    const error = await proxyErrorOf(readBodyWithLimit(post('x'.repeat(11), { 'content-length': '11' }), 10));
    expect(error.fields.code).toBe('request_too_large');
  });

  it('refuses a streamed body once it passes the limit, without reading the rest', async () => {
    let pulls = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(new Uint8Array(1024));
      },
    });
    const error = await proxyErrorOf(readBodyWithLimit(post(endless, {}), 10_000));
    expect(error.status).toBe(400);
    expect(pulls).toBeLessThan(20);
  });

  it('accepts a body of exactly the limit', async () => {
    expect((await readBodyWithLimit(post('x'.repeat(10)), 10)).byteLength).toBe(10);
  });
});

describe('requireModel', () => {
  it('requires a non-empty string', () => {
    expect(requireModel({ model: 'gpt-4o' })).toBe('gpt-4o');
    for (const body of [{}, { model: null }, { model: 4 }, { model: '' }, { model: ['gpt-4o'] }]) {
      expect(() => requireModel(body)).toThrow(ProxyError);
    }
  });
});
