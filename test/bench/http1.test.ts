import { messagesOf } from '../../bench/http1';

describe("the bench's HTTP/1.1 framing", () => {
  const answer = (body: string, length = true): string => `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n${length ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : ''}\r\n${body}`;

  it('cuts whole messages out of chunks however the bytes were split, several to a chunk or one over many', () => {
    const stream = Buffer.from(answer('{"a":1}') + answer('{"é":2}') + answer(''));
    for (const size of [1, 3, 7, stream.length]) {
      const messages: string[] = [];
      const feed = messagesOf((message, hasLength) => messages.push(`${hasLength ? '' : '(no length) '}${message.toString('utf8')}`));
      for (let at = 0; at < stream.length; at += size) feed(stream.subarray(at, at + size));
      expect(messages).toEqual([answer('{"a":1}'), answer('{"é":2}'), answer('')]);
    }
  });

  it('says when a head gave no length (its body is then taken as empty)', () => {
    const seen: boolean[] = [];
    messagesOf((_message, hasLength) => seen.push(hasLength))(Buffer.from(answer('', false) + answer('x')));
    expect(seen).toEqual([false, true]);
  });
});
