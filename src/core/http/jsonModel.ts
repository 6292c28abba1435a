/**
 * Editing a top-level field of a JSON body in place: the value's bytes are replaced (or the field added before the
 * closing brace) and every other byte stays as the client sent it (no re-serialising, so key order, number formats
 * and unknown fields survive). Used for `model` (the v1 API names the deployment there) and `stream_options`.
 */

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

/** The end index of the JSON string that starts at `start` (a quote). */
function endOfString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '"') return i + 1;
  }
  throw new SyntaxError('unterminated string');
}

/** The end index of the JSON value that starts at `start`; a SyntaxError if the text ends inside it. */
export function endOfValue(text: string, start: number): number {
  const first = text[start];
  if (first === '"') return endOfString(text, start);
  if (first === '{' || first === '[') {
    let depth = 0;
    for (let i = start; i < text.length; i++) {
      const c = text[i];
      if (c === '"') i = endOfString(text, i) - 1;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    throw new SyntaxError('unterminated value');
  }
  let i = start;
  while (i < text.length && !WHITESPACE.has(text[i] as string) && text[i] !== ',' && text[i] !== '}' && text[i] !== ']') i++;
  return i;
}

function skipWhitespace(text: string, i: number): number {
  while (i < text.length && WHITESPACE.has(text[i] as string)) i++;
  return i;
}

/** One top-level member of a JSON object text: its key, and where its key and its value are. */
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

/** The one scan of a JSON object text's top level that every edit here starts from; undefined if not an object. */
function scanTopLevel(text: string): TopLevel | undefined {
  const members: TopLevelMember[] = [];
  let i = skipWhitespace(text, 0);
  if (text[i] !== '{') return undefined;
  i = skipWhitespace(text, i + 1);
  while (i < text.length && text[i] !== '}') {
    const keyStart = i;
    const keyEnd = endOfString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWhitespace(text, keyEnd);
    const valueStart = skipWhitespace(text, i + 1); // past ':'
    const valueEnd = endOfValue(text, valueStart);
    members.push({ key, keyStart, keyEnd, valueStart, valueEnd });
    i = skipWhitespace(text, valueEnd);
    if (text[i] === ',') i = skipWhitespace(text, i + 1);
  }
  return { members, close: i };
}

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
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const members = scanTopLevel(text)?.members;
  if (members === undefined || members.every(({ key }) => edit(key) === undefined)) return bytes;
  const kept: string[] = [];
  for (const { key, keyStart, keyEnd, valueStart, valueEnd } of members) {
    const renamed = edit(key);
    if (renamed === null) continue;
    const name = renamed === undefined ? text.slice(keyStart, keyEnd) : JSON.stringify(renamed);
    kept.push(`${name}:${text.slice(valueStart, valueEnd)}`);
  }
  return Buffer.from(`{${kept.join(',')}}`, 'utf8');
}

/** How many times a JSON object text has `field` as a top-level key (a key may repeat). */
export function topLevelFieldCount(text: string, field: string): number {
  const scan = scanTopLevel(text);
  return scan === undefined ? 0 : fieldRanges(scan, field).length;
}

/** The [start, end) ranges of every top-level `"model": "..."` string value in a JSON object text. */
export function topLevelModelRanges(text: string): Array<[number, number]> {
  const scan = scanTopLevel(text);
  return scan === undefined ? [] : fieldRanges(scan, 'model').filter(([start]) => text[start] === '"');
}

/**
 * The body with `stream_options.include_usage` set to true: its other options kept, the field added when the
 * body has none. The bytes as they were when it is set already.
 */
export function requestStreamUsage(bytes: Uint8Array): Uint8Array {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const scan = scanTopLevel(text);
  if (scan === undefined) return bytes;
  const last = fieldRanges(scan, 'stream_options').at(-1);
  if (last === undefined) {
    const member = `"stream_options":{"include_usage":true}`;
    return Buffer.from(`${text.slice(0, scan.close)}${scan.members.length === 0 ? '' : ','}${member}${text.slice(scan.close)}`, 'utf8');
  }
  const current: unknown = JSON.parse(text.slice(last[0], last[1]));
  const options = typeof current === 'object' && current !== null && !Array.isArray(current) ? (current as Record<string, unknown>) : {};
  if (options.include_usage === true) return bytes;
  return Buffer.from(`${text.slice(0, last[0])}${JSON.stringify({ ...options, include_usage: true })}${text.slice(last[1])}`, 'utf8');
}

/** The body with its top-level `model` set to `model`; the bytes as they were when there is nothing to change. */
export function replaceTopLevelModel(bytes: Uint8Array, model: string): Uint8Array {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const ranges = topLevelModelRanges(text);
  const replacement = JSON.stringify(model);
  if (ranges.every(([start, end]) => text.slice(start, end) === replacement)) return bytes;
  let result = '';
  let at = 0;
  for (const [start, end] of ranges) {
    result += text.slice(at, start) + replacement;
    at = end;
  }
  return Buffer.from(result + text.slice(at), 'utf8');
}
