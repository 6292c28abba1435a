/**
 * Stepping over JSON in its bytes: where a string or a value ends, past blanks. For the readers that look at a
 * few fields of a body without parsing it whole (the usage read, the in-place edits of a request's top-level
 * fields): the bytes are never decoded to a string to be walked, and what is not looked at keeps its exact bytes.
 * Each answers -1 where the bytes end first (a body cut off, or not JSON).
 */

export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const COLON = 0x3a;
export const COMMA = 0x2c;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

function isBlank(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** The first index from `i` that is not a blank (the length, past the end). */
export function skipBlanks(bytes: Uint8Array, i: number): number {
  while (isBlank(bytes[i])) i++;
  return i;
}

/** The end (after its closing quote) of the JSON string whose quote is at `start`; -1 if the bytes end first. */
export function endOfString(bytes: Uint8Array, start: number): number {
  for (let i = start + 1; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return -1;
}

/** The end of the JSON value at `start`; -1 if the bytes end inside it. */
export function endOfValue(bytes: Uint8Array, start: number): number {
  const first = bytes[start];
  if (first === QUOTE) return endOfString(bytes, start);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    for (let i = start; i < bytes.length; i++) {
      const c = bytes[i];
      if (c === QUOTE) {
        i = endOfString(bytes, i) - 1;
        if (i < 0) return -1;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return -1;
  }
  for (let i = start; i < bytes.length; i++) {
    const c = bytes[i];
    if (isBlank(c) || c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET) return i;
  }
  return -1;
}
