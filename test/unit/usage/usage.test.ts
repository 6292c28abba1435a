import { requestStreamUsage } from '../../../src/core/http/jsonModel';
import { isUsageOnlyChunk } from '../../../src/core/azure/streamCompat';
import { applyStage } from '../../../src/core/streams/webBody';
import { createUsageStage, lastUsage, type TokenUsage } from '../../../src/core/usage/usage';

describe('lastUsage', () => {
  it('reads a completion, an embedding and a Responses API event', () => {
    expect(lastUsage('{"id":"c","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":19,"total_tokens":28}}')).toEqual({ prompt: 9, completion: 19, total: 28 });
    expect(lastUsage('{"data":[],"usage":{"prompt_tokens":4,"total_tokens":4}}')).toEqual({ prompt: 4, completion: 0, total: 4 });
    const responses =
      'event: response.created\ndata: {"response":{"usage":null}}\n\n' +
      'event: response.completed\ndata: {"response":{"usage":{"input_tokens":5,"input_tokens_details":{"cached_tokens":0},"output_tokens":7,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":12}}}\n\n';
    expect(lastUsage(responses)).toEqual({ prompt: 5, completion: 7, total: 12 });
  });

  it('takes the last usage that is an object, and ignores text that only mentions usage', () => {
    const stream = 'data: {"choices":[{"delta":{"content":"\\"usage\\": {"}}],"usage":null}\n\ndata: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}\n\ndata: [DONE]\n\n';
    expect(lastUsage(stream)).toEqual({ prompt: 1, completion: 2, total: 3 });
    expect(lastUsage('data: {"choices":[{"delta":{"content":"usage"}}],"usage":null}\n\n')).toBeUndefined();
    expect(lastUsage('{"usage":{"prompt_tokens":1')).toBeUndefined();
  });

  it('reads the usage object as JSON.parse would, whatever its details, blanks and escapes', () => {
    const azure =
      '{"choices":[],"usage":{"completion_tokens":21,"completion_tokens_details":{"accepted_prediction_tokens":0,"reasoning_tokens":0},' +
      '"prompt_tokens":11,"prompt_tokens_details":{"audio_tokens":0,"cached_tokens":0},"total_tokens":32},"prompt_filter_results":[{"prompt_index":0}]}';
    expect(lastUsage(azure)).toEqual({ prompt: 11, completion: 21, total: 32 });
    // Fields nested in the details are not the usage's own.
    expect(lastUsage('{"usage":{"details":{"prompt_tokens":99,"note":"a \\"}\\" b"},"prompt_tokens":1,"completion_tokens":2}}')).toEqual({ prompt: 1, completion: 2, total: 3 });
    expect(lastUsage('{ "usage" :\n { "prompt_tokens" : 7 ,\t"total_tokens": 1e1 } }')).toEqual({ prompt: 7, completion: 0, total: 10 });
    // The last of a repeated field wins; one that is not a number counts as absent.
    expect(lastUsage('{"usage":{"prompt_tokens":1,"prompt_tokens":2,"completion_tokens":"3"}}')).toEqual({ prompt: 2, completion: 0, total: 2 });
    expect(lastUsage('{"usage":{"prompt_tokens":1,"prompt_tokens":null}}')).toBeUndefined();
    expect(lastUsage('{"usage":{"prompt_tokens":1,"completion_tokens":1e999}}')).toEqual({ prompt: 1, completion: 0, total: 1 });
    // An escaped key names the same field.
    expect(lastUsage('{"usage":{"prompt\\u005ftokens":4}}')).toEqual({ prompt: 4, completion: 0, total: 4 });
    // Not JSON's shape, or cut off: the usage before it is read instead.
    const earlier = 'data: {"usage":{"prompt_tokens":5,"completion_tokens":1}}\n\n';
    expect(lastUsage(`${earlier}data: {"usage":{"prompt_tokens":6 "completion_tokens":1}}\n\n`)).toEqual({ prompt: 5, completion: 1, total: 6 });
    expect(lastUsage(`${earlier}data: {"usage":{"prompt_tokens":-}}\n\n`)).toEqual({ prompt: 5, completion: 1, total: 6 });
    expect(lastUsage(`${earlier}data: {"usage":{"prompt_tokens":6,"details":{"a":[1,2}`)).toEqual({ prompt: 5, completion: 1, total: 6 });
    expect(lastUsage('{"usage":{}}')).toBeUndefined();
    // A key at the very start, and none: the search ends.
    expect(lastUsage('"usage":null')).toBeUndefined();
    expect(lastUsage('"usage":{"prompt_tokens":2}')).toEqual({ prompt: 2, completion: 0, total: 2 });
    expect(lastUsage('u')).toBeUndefined();
    expect(lastUsage('')).toBeUndefined();
  });
});

describe('createUsageStage', () => {
  it('passes every byte through and reports the usage at the end, however large the body', async () => {
    const body = `{"big":"${'x'.repeat(200_000)}","usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`;
    const bytes = new TextEncoder().encode(body);
    let seen: TokenUsage | undefined;
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < bytes.length; at += 4096) controller.enqueue(bytes.slice(at, at + 4096));
        controller.close();
      },
    });
    const out = await new Response(applyStage(source, createUsageStage((usage) => (seen = usage)))).text();
    expect(out).toBe(body);
    expect(seen).toEqual({ prompt: 3, completion: 4, total: 7 });
  });
});

describe('createUsageStage over many chunks', () => {
  const run = async (chunks: readonly string[]): Promise<{ out: string; seen: TokenUsage | undefined }> => {
    let seen: TokenUsage | undefined;
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
        controller.close();
      },
    });
    const out = await new Response(applyStage(source, createUsageStage((usage) => (seen = usage)))).text();
    return { out, seen };
  };

  it('finds the final usage chunk of a long stream of small events', async () => {
    const events = Array.from({ length: 5000 }, (_, i) => `data: {"choices":[{"delta":{"content":"token ${i}"}}],"usage":null}\n\n`);
    events.push('data: {"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5000,"total_tokens":5010}}\n\n', 'data: [DONE]\n\n');
    const { out, seen } = await run(events);
    expect(out).toBe(events.join(''));
    expect(seen).toEqual({ prompt: 10, completion: 5000, total: 5010 });
  });

  it('reads a usage object split over chunks, after a chunk larger than the tail it keeps', async () => {
    const body = `{"data":"${'x'.repeat(100_000)}","usage":{"prompt_tokens":3,"total_tokens":3}}`;
    const at = body.indexOf('"prompt_tokens"') + 5;
    const { seen } = await run([body.slice(0, at), body.slice(at)]);
    expect(seen).toEqual({ prompt: 3, completion: 0, total: 3 });
  });
});

describe('requestStreamUsage', () => {
  const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString();

  it('adds stream_options when there is none, keeping every other byte', () => {
    expect(text(requestStreamUsage(Buffer.from('{"model":"m",  "stream":true }')))).toBe('{"model":"m",  "stream":true ,"stream_options":{"include_usage":true}}');
    expect(text(requestStreamUsage(Buffer.from('{}')))).toBe('{"stream_options":{"include_usage":true}}');
  });

  it('sets include_usage among the caller own options, and leaves a body that has it alone', () => {
    expect(JSON.parse(text(requestStreamUsage(Buffer.from('{"stream_options":{"x":1},"n":2}'))))).toEqual({ stream_options: { x: 1, include_usage: true }, n: 2 });
    expect(JSON.parse(text(requestStreamUsage(Buffer.from('{"stream_options":null}'))))).toEqual({ stream_options: { include_usage: true } });
    const already = Buffer.from('{"stream_options":{"include_usage":true}}');
    expect(requestStreamUsage(already)).toBe(already);
  });
});

describe('isUsageOnlyChunk', () => {
  it('is the final chunk with usage and no choices, only', () => {
    expect(isUsageOnlyChunk('{"choices":[],"usage":{"prompt_tokens":1}}')).toBe(true);
    expect(isUsageOnlyChunk('{"choices":[{"delta":{}}],"usage":null}')).toBe(false);
    expect(isUsageOnlyChunk('{"choices":[],"usage":null,"prompt_filter_results":[]}')).toBe(false);
    expect(isUsageOnlyChunk('[DONE]')).toBe(false);
  });
});
