/**
 * Finding one field of a multipart/form-data body while the body streams past: the deployment-scoped uploads
 * (audio transcriptions and translations, image edits) name their model in a `model` field, often after the
 * file. The finder keeps only a few bytes of its own (the tail where a boundary may be split across chunks), so
 * the caller, who keeps the chunks to forward them, is the only one holding the body.
 */

export interface FoundField {
  value: string;
  /** Byte offsets, in the whole body, of the field's value: [start, end). */
  start: number;
  end: number;
}

const CRLF = Buffer.from('\r\n');
const HEADERS_END = Buffer.from('\r\n\r\n');
const MAX_HEADER_BYTES = 16 * 1024;

export class MalformedMultipartError extends Error {
  override readonly name = 'MalformedMultipartError';
}

/** The boundary of a `multipart/form-data` content type, or undefined for any other type. */
export function multipartBoundary(contentType: string | null): string | undefined {
  if (contentType === null) return undefined;
  const [mediaType, ...params] = contentType.split(';');
  if (mediaType?.trim().toLowerCase() !== 'multipart/form-data') return undefined;
  for (const param of params) {
    const match = /^\s*boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))\s*$/i.exec(param);
    const boundary = match?.[1] ?? match?.[2];
    if (boundary !== undefined && boundary.length <= 70) return boundary;
  }
  return undefined;
}

function fieldName(headers: string): string | undefined {
  for (const line of headers.split('\r\n')) {
    if (!/^content-disposition\s*:/i.test(line)) continue;
    const match = /;\s*name\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;]+))/i.exec(line);
    return match?.[1] ?? match?.[2];
  }
  return undefined;
}

type State = 'preamble' | 'after-delimiter' | 'headers' | 'body' | 'done';

export class MultipartFieldFinder {
  readonly #first: Buffer;
  readonly #delimiter: Buffer;
  readonly #fieldName: string;
  readonly #maxValueBytes: number;
  #state: State = 'preamble';
  #buffer: Buffer = Buffer.alloc(0);
  /** Offset, in the whole body, of #buffer[0]. */
  #offset = 0;
  #inField = false;

  constructor(boundary: string, fieldName: string, maxValueBytes = 1024) {
    this.#first = Buffer.from(`--${boundary}`);
    this.#delimiter = Buffer.from(`\r\n--${boundary}`);
    this.#fieldName = fieldName;
    this.#maxValueBytes = maxValueBytes;
  }

  /** Whether the body ended (its closing delimiter passed) or the field was found. */
  get done(): boolean {
    return this.#state === 'done';
  }

  /** Feeds the next chunk; returns the field once it is complete. Throws MalformedMultipartError. */
  push(chunk: Uint8Array): FoundField | undefined {
    if (this.#state === 'done') return undefined;
    this.#buffer = this.#buffer.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const progress = this.#step();
      if (progress === 'wait') return undefined;
      if (progress !== 'continue') return progress;
    }
  }

  #consume(bytes: number): void {
    this.#buffer = this.#buffer.subarray(bytes);
    this.#offset += bytes;
  }

  /** Keeps only the last `keep` bytes, which may hold the start of a delimiter. */
  #keepTail(keep: number): void {
    if (this.#buffer.length > keep) this.#consume(this.#buffer.length - keep);
  }

  #step(): FoundField | 'continue' | 'wait' {
    switch (this.#state) {
      case 'preamble': {
        // The first delimiter opens the body, or follows a preamble and its line break.
        const buffer = this.#buffer;
        const opensBody = (at: number): boolean =>
          at === 0 ? this.#offset === 0 : at >= 2 && buffer[at - 2] === 0x0d && buffer[at - 1] === 0x0a;
        let at = buffer.indexOf(this.#first);
        while (at >= 0 && !opensBody(at)) at = buffer.indexOf(this.#first, at + 1);
        if (at < 0) {
          // Enough to hold a delimiter split across chunks and the line break before it.
          this.#keepTail(this.#first.length + 2);
          return 'wait';
        }
        this.#consume(at + this.#first.length);
        this.#state = 'after-delimiter';
        return 'continue';
      }
      case 'after-delimiter': {
        if (this.#buffer.length < 2) return 'wait';
        if (this.#buffer[0] === 0x2d && this.#buffer[1] === 0x2d) {
          this.#state = 'done';
          return 'continue';
        }
        const lineEnd = this.#buffer.indexOf(CRLF);
        if (lineEnd < 0) {
          if (this.#buffer.length > 128) throw new MalformedMultipartError('no line break after a boundary');
          return 'wait';
        }
        this.#consume(lineEnd + 2);
        this.#state = 'headers';
        return 'continue';
      }
      case 'headers': {
        // A part may have no headers at all, in which case its blank line comes at once.
        const end = this.#buffer.subarray(0, 2).equals(CRLF) ? -2 : this.#buffer.indexOf(HEADERS_END);
        if (end === -1) {
          if (this.#buffer.length > MAX_HEADER_BYTES) throw new MalformedMultipartError('part headers too long');
          return 'wait';
        }
        const headers = end === -2 ? '' : this.#buffer.subarray(0, end).toString('latin1');
        this.#inField = fieldName(headers) === this.#fieldName;
        this.#consume(end === -2 ? 2 : end + 4);
        this.#state = 'body';
        return 'continue';
      }
      case 'body': {
        const at = this.#buffer.indexOf(this.#delimiter);
        if (this.#inField) {
          const length = at < 0 ? this.#buffer.length : at;
          if (length > this.#maxValueBytes + this.#delimiter.length) {
            throw new MalformedMultipartError(`the ${this.#fieldName} field is longer than ${this.#maxValueBytes} bytes`);
          }
          if (at < 0) return 'wait';
          const found = { value: this.#buffer.subarray(0, at).toString('utf8'), start: this.#offset, end: this.#offset + at };
          this.#state = 'done';
          return found;
        }
        if (at < 0) {
          this.#keepTail(this.#delimiter.length - 1);
          return 'wait';
        }
        this.#consume(at + this.#delimiter.length);
        this.#state = 'after-delimiter';
        return 'continue';
      }
      case 'done':
        return 'wait';
    }
  }
}
