import { MalformedMultipartError, MultipartFieldFinder, multipartBoundary } from '../../../src/core/http/multipart';

const BOUNDARY = '----formdata-undici-0123456789';

function body(parts: Array<{ name: string; value: string | Buffer; filename?: string }>, preamble = ''): Buffer {
  const chunks: Buffer[] = [Buffer.from(preamble)];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    chunks.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\n${part.filename === undefined ? '' : 'Content-Type: application/octet-stream\r\n'}\r\n`));
    chunks.push(Buffer.isBuffer(part.value) ? part.value : Buffer.from(part.value));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}

function find(bytes: Buffer, cuts: number[] = []) {
  const finder = new MultipartFieldFinder(BOUNDARY, 'model');
  const points = [0, ...cuts, bytes.length];
  for (let i = 0; i + 1 < points.length; i++) {
    const found = finder.push(bytes.subarray(points[i], points[i + 1]));
    if (found !== undefined) return found;
  }
  return undefined;
}

/** File bytes that look like multipart on purpose: boundaries without the line break, and a fake model field. */
const TRICKY_FILE = Buffer.concat([Buffer.from(`RIFF--${BOUNDARY}xx name="model"\r\n\r\nfake\r\n`), Buffer.alloc(3000, 7), Buffer.from('\r\n--')]);

describe('multipartBoundary', () => {
  it('reads quoted and bare boundaries of multipart/form-data only', () => {
    expect(multipartBoundary(`multipart/form-data; boundary=${BOUNDARY}`)).toBe(BOUNDARY);
    expect(multipartBoundary('Multipart/Form-Data; charset=utf-8; boundary="a b"')).toBe('a b');
    expect(multipartBoundary('application/json')).toBeUndefined();
    expect(multipartBoundary('multipart/form-data')).toBeUndefined();
    expect(multipartBoundary(null)).toBeUndefined();
  });
});

describe('MultipartFieldFinder', () => {
  it('finds the field after a file, with its exact byte range', () => {
    const bytes = body([{ name: 'file', value: TRICKY_FILE, filename: 'a.wav' }, { name: 'model', value: 'whisper-1' }, { name: 'language', value: 'en' }]);
    const found = find(bytes);
    expect(found?.value).toBe('whisper-1');
    expect(bytes.subarray(found!.start, found!.end).toString()).toBe('whisper-1');
  });

  it('gives the same answer however the body is cut into chunks', () => {
    const bytes = body([{ name: 'file', value: TRICKY_FILE, filename: 'a.wav' }, { name: 'model', value: 'gpt-4o-transcribe' }], 'a preamble\r\n');
    const expected = find(bytes);
    expect(expected?.value).toBe('gpt-4o-transcribe');
    for (let cut = 1; cut < bytes.length; cut += 13) expect(find(bytes, [cut])).toEqual(expected);
    expect(find(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1))).toEqual(expected);
  });

  it('finds the field first when it comes first, and says done when there is none', () => {
    expect(find(body([{ name: 'model', value: 'dall-e-2' }, { name: 'image', value: TRICKY_FILE, filename: 'i.png' }]))?.value).toBe('dall-e-2');
    const finder = new MultipartFieldFinder(BOUNDARY, 'model');
    expect(finder.push(body([{ name: 'file', value: 'x', filename: 'f' }, { name: 'models', value: 'no' }]))).toBeUndefined();
    expect(finder.done).toBe(true);
  });

  it('refuses an overlong field value', () => {
    expect(() => find(body([{ name: 'model', value: 'x'.repeat(5000) }]))).toThrow(MalformedMultipartError);
  });
});
