/**
 * Whether a Content-Type names a media type, ignoring its case, blanks before it and its parameters. Asked a few
 * times on every request and answer (JSON body? event stream?), so it compares in place: no part of the header is
 * cut out or lower-cased to find out.
 */
export function isMediaType(contentType: string | null, type: string): boolean {
  if (contentType === null) return false;
  let at = 0;
  while (at < contentType.length && isBlank(contentType.charCodeAt(at))) at++;
  if (contentType.length - at < type.length) return false;
  for (let i = 0; i < type.length; i++) {
    // `type` is lower case; a letter of the header's matches it in either case.
    if (lowerAscii(contentType.charCodeAt(at + i)) !== type.charCodeAt(i)) return false;
  }
  // Then only blanks, up to the parameters or the end.
  let end = at + type.length;
  while (end < contentType.length && isBlank(contentType.charCodeAt(end))) end++;
  return end === contentType.length || contentType.charCodeAt(end) === SEMICOLON;
}

const SEMICOLON = 0x3b;

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

function lowerAscii(code: number): number {
  return code >= 0x41 && code <= 0x5a ? code + 0x20 : code;
}
