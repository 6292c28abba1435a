import { applyStage } from '../../../src/core/streams/webBody';
import { createSseEventFilterStage, isFilterOnlyChunk } from '../../../src/core/azure/streamCompat';

const compat = (source: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> => applyStage(source, createSseEventFilterStage(isFilterOnlyChunk));

const promptFilter = '{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}';
const role = '{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}';
const content = '{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null,"content_filter_results":{}}]}';
const finish = '{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}';
const asyncFilter = '{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"finish_reason":null,"content_filter_results":{"hate":{"filtered":false}},"content_filter_offsets":{"check_offset":0,"start_offset":0,"end_offset":2}}]}';
const usage = '{"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}';
const legacy = '{"id":"cmpl-1","object":"text_completion","choices":[{"text":" hi","index":0,"finish_reason":null,"logprobs":null}]}';

const sse = (...events: string[]): string => events.map((e) => `data: ${e}\n\n`).join('');

async function run(input: string, splitAt: readonly number[] = []): Promise<string> {
  const bytes = new TextEncoder().encode(input);
  const cuts = [0, ...splitAt, bytes.length];
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i + 1 < cuts.length; i++) controller.enqueue(bytes.slice(cuts[i], cuts[i + 1]));
      controller.close();
    },
  });
  return new Response(compat(source)).text();
}

describe('isFilterOnlyChunk', () => {
  it('recognises the prompt-filter chunk and delta-less filter chunks', () => {
    expect(isFilterOnlyChunk(promptFilter)).toBe(true);
    expect(isFilterOnlyChunk(asyncFilter)).toBe(true);
  });

  it('keeps content, the usage chunk, legacy completions and anything unparsable', () => {
    for (const data of [role, content, finish, usage, legacy, '[DONE]', '{"choices":', 'not json']) {
      expect(isFilterOnlyChunk(data)).toBe(false);
    }
  });

  it('keeps a delta-less choice that finishes the stream', () => {
    expect(isFilterOnlyChunk('{"choices":[{"index":0,"finish_reason":"content_filter","content_filter_results":{}}]}')).toBe(false);
  });
});

describe('the stream compatibility filter', () => {
  const input = sse(promptFilter, role, content, asyncFilter, finish, usage, '[DONE]');
  // Azure's prompt-filter chunk, first, is dropped for an SSE comment that starts the response.
  const expected = `:\n\n${sse(role, content, finish, usage, '[DONE]')}`;

  it('drops only the filter-only events and keeps every other byte', async () => {
    expect(await run(input)).toBe(expected);
  });

  it('gives the same output however the bytes are split into network chunks', async () => {
    for (let cut = 1; cut < input.length; cut += 7) {
      expect(await run(input, [cut])).toBe(expected);
    }
    const everyByte = Array.from({ length: input.length - 1 }, (_, i) => i + 1);
    expect(await run(input, everyByte)).toBe(expected);
  });

  it('understands CRLF line endings', async () => {
    const crlf = [promptFilter, content, '[DONE]'].map((e) => `data: ${e}\r\n\r\n`).join('');
    expect(await run(crlf, [5, 40])).toBe(`:\n\n${[content, '[DONE]'].map((e) => `data: ${e}\r\n\r\n`).join('')}`);
  });

  it('passes an unterminated tail through at the end', async () => {
    expect(await run(`${sse(content)}data: partial`)).toBe(`${sse(content)}data: partial`);
  });

  it('sends each complete event on as soon as it arrives', async () => {
    let source!: ReadableStreamDefaultController<Uint8Array>;
    const reader = compat(new ReadableStream<Uint8Array>({ start: (controller) => void (source = controller) })).getReader();
    source.enqueue(new TextEncoder().encode(sse(content)));
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe(sse(content));
    source.enqueue(new TextEncoder().encode(sse(promptFilter) + 'data: [DO'));
    const second = reader.read();
    source.enqueue(new TextEncoder().encode('NE]\n\n'));
    expect(new TextDecoder().decode((await second).value)).toBe(sse('[DONE]'));
    source.close();
    expect((await reader.read()).done).toBe(true);
  });
});
