/**
 * Editing a top-level field of a JSON body in place: the value's bytes are replaced (or the field added before the
 * closing brace) and every other byte stays as the client sent it (no re-serialising, so key order, number formats
 * and unknown fields survive). Used for `model` (the v1 API names the deployment there) and `stream_options`.
 */
import { CLOSE_BRACE, COMMA, endOfString, endOfValue, OPEN_BRACE, QUOTE, skipBlanks } from './jsonBytes';

/** One top-level member of a JSON object: its key, and where its key and its value are in the bytes. */
interface TopLevelMember {
  key: string;
  keyStart: number;
  keyEnd: number;
  valueStart: number;
  valueEnd: number;
}

interface TopLevel {
  /** In order; a key may repeat (JSON.parse keeps the last). */
  members: TopLevelMember[];
  /** Where the object's closing brace is. */
  close: number;
}

/**
 * The one scan of a JSON object's top level that every edit here starts from; undefined if the bytes are not a JSON
 * object, or end inside one (its callers have parsed the body already, so that is for a body not sent on).
 */
function scanTopLevel(bytes: Uint8Array): TopLevel | undefined {
  const members: TopLevelMember[] = [];
  let i = skipBlanks(bytes, 0);
  if (bytes[i] !== OPEN_BRACE) return undefined;
  i = skipBlanks(bytes, i + 1);
  while (bytes[i] !== CLOSE_BRACE) {
    if (bytes[i] !== QUOTE) return undefined;
    const keyStart = i;
    const keyEnd = endOfString(bytes, i);
    if (keyEnd < 0) return undefined;
    const key = JSON.parse(textOf(bytes, keyStart, keyEnd)) as string;
    const valueStart = skipBlanks(bytes, skipBlanks(bytes, keyEnd) + 1); // past ':'
    const valueEnd = endOfValue(bytes, valueStart);
    if (valueEnd < 0) return undefined;
    members.push({ key, keyStart, keyEnd, valueStart, valueEnd });
    i = skipBlanks(bytes, valueEnd);
    if (bytes[i] === COMMA) i = skipBlanks(bytes, i + 1);
  }
  return { members, close: i };
}

function textOf(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8', start, end);
}

function utf8(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

const OPEN = utf8('{');
const SEPARATOR = utf8(',');
const NAME_SEPARATOR = utf8(':');
const CLOSE = utf8('}');

/** The [start, end) ranges of a top-level field's values, in order. */
function fieldRanges(scan: TopLevel, field: string): Array<[number, number]> {
  return scan.members.filter(({ key }) => key === field).map(({ valueStart, valueEnd }) => [valueStart, valueEnd]);
}

/**
 * The body with its top-level members' keys edited: `edit` answers a key's new name, `null` to drop the member, or
 * `undefined` to keep it. Values keep their exact bytes (a 64-bit `seed` is not rounded by a parse and a print);
 * the bytes as they were when nothing changes.
 */
export function editTopLevelKeys(bytes: Uint8Array, edit: (key: string) => string | null | undefined): Uint8Array {
  const members = scanTopLevel(bytes)?.members;
  if (members === undefined || members.every(({ key }) => edit(key) === undefined)) return bytes;
  const parts: Uint8Array[] = [OPEN];
  for (const { key, keyStart, keyEnd, valueStart, valueEnd } of members) {
    const renamed = edit(key);
    if (renamed === null) continue;
    if (parts.length > 1) parts.push(SEPARATOR);
    parts.push(renamed === undefined ? bytes.subarray(keyStart, keyEnd) : utf8(JSON.stringify(renamed)), NAME_SEPARATOR, bytes.subarray(valueStart, valueEnd));
  }
  parts.push(CLOSE);
  return Buffer.concat(parts);
}

/** How many times a JSON object has `field` as a top-level key (a key may repeat). */
export function topLevelFieldCount(bytes: Uint8Array, field: string): number {
  return scanTopLevel(bytes)?.members.filter(({ key }) => key === field).length ?? 0;
}

/** The [start, end) ranges of every top-level `"model": "..."` string value in a JSON object's bytes. */
export function topLevelModelRanges(bytes: Uint8Array): Array<[number, number]> {
  const scan = scanTopLevel(bytes);
  return scan === undefined ? [] : fieldRanges(scan, 'model').filter(([start]) => bytes[start] === QUOTE);
}

/**
 * The body with `stream_options.include_usage` set to true: its other options kept, the field added when the
 * body has none. The bytes as they were when it is set already.
 */
export function requestStreamUsage(bytes: Uint8Array): Uint8Array {
  const scan = scanTopLevel(bytes);
  if (scan === undefined) return bytes;
  const last = fieldRanges(scan, 'stream_options').at(-1);
  if (last === undefined) {
    const member = `${scan.members.length === 0 ? '' : ','}"stream_options":{"include_usage":true}`;
    return Buffer.concat([bytes.subarray(0, scan.close), utf8(member), bytes.subarray(scan.close)]);
  }
  const current: unknown = JSON.parse(textOf(bytes, last[0], last[1]));
  const options = typeof current === 'object' && current !== null && !Array.isArray(current) ? (current as Record<string, unknown>) : {};
  if (options.include_usage === true) return bytes;
  return Buffer.concat([bytes.subarray(0, last[0]), utf8(JSON.stringify({ ...options, include_usage: true })), bytes.subarray(last[1])]);
}

/** The body with its top-level `model` set to `model`; the bytes as they were when there is nothing to change. */
export function replaceTopLevelModel(bytes: Uint8Array, model: string): Uint8Array {
  const ranges = topLevelModelRanges(bytes);
  const replacement = utf8(JSON.stringify(model));
  if (ranges.every(([start, end]) => Buffer.compare(bytes.subarray(start, end), replacement) === 0)) return bytes;
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const [start, end] of ranges) {
    parts.push(bytes.subarray(at, start), replacement);
    at = end;
  }
  parts.push(bytes.subarray(at));
  return Buffer.concat(parts);
}
