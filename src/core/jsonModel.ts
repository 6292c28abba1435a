/**
 * Rewriting the top-level `model` of a JSON body in place: the value's bytes are replaced and every other byte
 * stays as the client sent it (no re-serialising, so key order, number formats and unknown fields survive).
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

/** The end index of the JSON value that starts at `start`. */
function endOfValue(text: string, start: number): number {
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

/** The [start, end) ranges of every top-level `"model": "..."` string value in a JSON object text. */
export function topLevelModelRanges(text: string): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let i = skipWhitespace(text, 0);
  if (text[i] !== '{') return ranges;
  i = skipWhitespace(text, i + 1);
  while (i < text.length && text[i] !== '}') {
    const keyEnd = endOfString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWhitespace(text, keyEnd);
    i = skipWhitespace(text, i + 1); // past ':'
    const valueEnd = endOfValue(text, i);
    if (key === 'model' && text[i] === '"') ranges.push([i, valueEnd]);
    i = skipWhitespace(text, valueEnd);
    if (text[i] === ',') i = skipWhitespace(text, i + 1);
  }
  return ranges;
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
