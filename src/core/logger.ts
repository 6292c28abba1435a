/**
 * The core logs through this small interface so each host can route lines to its own sink (the Functions
 * invocation context, or the console for the local host). Callers pass fields, never headers or bodies, so a
 * credential cannot reach a log by accident.
 */
import { writeSync } from 'node:fs';

export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** Blanks, and control characters (an ESC would write terminal codes into a log), which make a value quoted. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NEEDS_QUOTING = /[\s\x00-\x1f\x7f]/;
/**
 * The most of a value a log line keeps: a field may hold what a client sent, such as a model name. Long enough for
 * the proxy's own messages (a start-up failure says what to check).
 */
export const MAX_LOGGED_VALUE = 1024;

/** A value as a log line may hold it: cut to MAX_LOGGED_VALUE characters, with how long it was. */
export function boundedValue(value: string): string {
  return value.length <= MAX_LOGGED_VALUE ? value : `${value.slice(0, MAX_LOGGED_VALUE)}…(${value.length} chars)`;
}

/** What went wrong, for a warning: an error's first line, cut to `max` characters; anything else as text. */
export function reasonOf(error: unknown, max = 300): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? '').slice(0, max) : String(error);
}

/** Fields with every string bounded, for a host that writes them as JSON. */
export function boundedFields(fields: LogFields): LogFields {
  let bounded: Record<string, LogFields[string]> | undefined;
  for (const key in fields) {
    const value = fields[key];
    if (typeof value === 'string' && value.length > MAX_LOGGED_VALUE) (bounded ??= { ...fields })[key] = boundedValue(value);
  }
  return bounded ?? fields;
}

/**
 * Whether a value can be written unquoted: no blank or control character. An ASCII value (nearly every value) is
 * looked at in place, which costs a fraction of a regular expression's test; one with other characters is tested
 * with NEEDS_QUOTING, which knows Unicode's blanks.
 */
function isPlain(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    // ASCII's blanks and controls are exactly 0x00 - 0x20 and 0x7f.
    if (code <= 0x20 || code === 0x7f) return false;
    if (code > 0x7f) return !NEEDS_QUOTING.test(value);
  }
  return true;
}

/**
 * A number as `String(number)` writes it. A time in tenths of a millisecond (each request's line has two) is
 * written from its digits: V8's shortest-decimal conversion of a fraction costs more than the rest of the field.
 * Exact: a value equal to `tenths / 10` is the double nearest that decimal, whose shortest form is those digits
 * (below 10^13 a double's spacing is under a hundredth, so no other decimal of as few digits is as near).
 */
function numberText(value: number): string {
  if (Number.isInteger(value)) return `${value}`;
  const tenths = Math.round(value * 10);
  if (tenths / 10 !== value || tenths >= 1e14 || tenths <= -1e14) return `${value}`;
  const size = tenths < 0 ? -tenths : tenths;
  const digit = size % 10;
  return `${tenths < 0 ? '-' : ''}${(size - digit) / 10}.${digit}`;
}

/**
 * `message key=value ...` (logfmt): values with blanks or control characters quoted as JSON strings (which escapes
 * the controls), long values cut. Written once per request, so kept cheap.
 */
function format(message: string, fields?: LogFields): string {
  let line = message;
  if (fields === undefined) return line;
  for (const key in fields) {
    const value = fields[key];
    // Numbers first, and a short plain string written as it is: most of a request's line, kept to one step each.
    if (typeof value === 'number') line += ` ${key}=${numberText(value)}`;
    else if (typeof value === 'string') {
      if (value.length <= MAX_LOGGED_VALUE && isPlain(value)) line += ` ${key}=${value}`;
      else {
        const text = boundedValue(value);
        line += ` ${key}=${NEEDS_QUOTING.test(text) ? JSON.stringify(text) : text}`;
      }
    } else if (value !== undefined) line += ` ${key}=${String(value)}`;
  }
  return line;
}

/**
 * Info lines (one per request) are written together, at most FLUSH_MS after the first of them (sooner when the
 * batch fills): a write to a pipe or file is synchronous on Linux, and one per request would cost more than the
 * request's own work under load. Each line is encoded straight into the batch's buffer as it comes: joining the
 * lines into one string first, and encoding that, cost twice the formatting. The buffer is made once and kept;
 * what a flush writes is a copy of the lines in it, its size, not a new 64 KiB buffer for every batch (at a few
 * requests a second, one a request, which V8 counts as memory to collect). Lines still pending are written when
 * the process exits.
 */
const FLUSH_MS = 10;
const BATCH_BYTES = 64 * 1024;
let batch: Buffer | undefined;
let batched = 0;
let flushTimer: NodeJS.Timeout | undefined;

/** A copy of the lines batched so far, which leave the batch; none if there are none. */
function takeBatch(): Buffer | undefined {
  if (flushTimer !== undefined) clearTimeout(flushTimer);
  flushTimer = undefined;
  if (batch === undefined || batched === 0) return undefined;
  // A copy: the stream may hold what it is given until it drains (a pipe), while the batch takes the next lines.
  const lines = Buffer.from(batch.subarray(0, batched));
  batched = 0;
  return lines;
}

function flushLines(): void {
  const bytes = takeBatch();
  if (bytes !== undefined) process.stdout.write(bytes);
}

/**
 * The lines still pending when the process exits. The event loop does not turn again then, so what a full pipe
 * cannot take at once would be dropped by a stream write (a slow reader of the proxy's output lost its last batch):
 * written with the file descriptor instead, waiting out a full pipe a millisecond at a time, for at most 5 s.
 */
function flushAtExit(): void {
  const bytes = takeBatch();
  if (bytes === undefined) return;
  const { fd } = process.stdout as { fd?: number };
  if (typeof fd !== 'number') {
    process.stdout.write(bytes);
    return;
  }
  const deadline = Date.now() + 5000;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let written = 0; written < bytes.length; ) {
    try {
      written += writeSync(fd, bytes, written);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > deadline) return;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

function writeLine(line: string): void {
  const text = `${line}\n`;
  // At most 3 bytes per UTF-16 unit: a line that might not fit goes after the batch, on its own.
  if (text.length * 3 > BATCH_BYTES) {
    flushLines();
    process.stdout.write(text);
    return;
  }
  if (batched + text.length * 3 > BATCH_BYTES) flushLines();
  batch ??= Buffer.allocUnsafe(BATCH_BYTES);
  // The first line of a batch: it goes out FLUSH_MS from now at the latest.
  flushTimer ??= setTimeout(flushLines, FLUSH_MS).unref();
  batched += batch.write(text, batched);
}

process.once('exit', flushAtExit);

export const consoleLogger: Logger = {
  info: (message, fields) => writeLine(format(message, fields)),
  warn: (message, fields) => console.warn(format(message, fields)),
  error: (message, fields) => console.error(format(message, fields)),
};

export { format as formatLogLine };
