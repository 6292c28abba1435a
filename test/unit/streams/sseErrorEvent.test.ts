import { createSseErrorEventStage, STREAM_BROKEN_MESSAGE } from '../../../src/core/streams/sseErrorEvent';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The ending the stage offers after these chunks passed. */
function endingAfter(...chunks: string[]): string {
  const stage = createSseErrorEventStage();
  for (const chunk of chunks) stage.onChunk?.(bytes(chunk));
  return new TextDecoder().decode(stage.endFailure?.(new Error('reset')));
}

describe('the error event of a broken event stream', () => {
  it("is OpenAI's error object in a data event", () => {
    const ending = endingAfter('data: {"a":1}\n\n');
    expect(ending.startsWith('data: ')).toBe(true);
    expect(ending.endsWith('\n\n')).toBe(true);
    expect(JSON.parse(ending.slice('data: '.length))).toEqual({
      error: { message: STREAM_BROKEN_MESSAGE, type: 'server_error', param: null, code: 'upstream_stream_broken' },
    });
  });

  it('starts on an event boundary: after a whole event as it is, after half of one once that one is ended', () => {
    for (const whole of [[], ['data: {"a":1}\n\n'], ['data: {"a":1}\r\n\r\n'], ['data: {"a":1}\n', '\n'], ['data: x\n\n', '']]) {
      expect(endingAfter(...whole).startsWith('data: ')).toBe(true);
    }
    for (const half of [['data: {"a"'], ['data: {"a":1}\n'], ['data: {"a":1}\n\n', 'data: {"b"'], ['event: x\r\n']]) {
      expect(endingAfter(...half).startsWith('\n\ndata: ')).toBe(true);
    }
  });
});
