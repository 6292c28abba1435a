import { isMediaType } from '../../../src/core/http/mediaType';

describe('isMediaType', () => {
  it.each([
    ['application/json', true],
    ['Application/JSON', true],
    ['application/json; charset=utf-8', true],
    ['application/json;charset=utf-8', true],
    ['  application/json', true],
    ['application/json ', true],
    ['application/json ; charset=utf-8', true],
    ['application/json x', false],
    ['application/jsonx', false],
    ['application/js', false],
    ['application/problem+json', false],
    ['text/plain', false],
    ['', false],
  ])('%j names application/json: %s', (contentType, expected) => {
    expect(isMediaType(contentType, 'application/json')).toBe(expected);
  });

  it('names nothing when there is no Content-Type, and compares whole types only', () => {
    expect(isMediaType(null, 'text/event-stream')).toBe(false);
    expect(isMediaType('TEXT/Event-Stream; charset=utf-8', 'text/event-stream')).toBe(true);
    expect(isMediaType('text/event-streams', 'text/event-stream')).toBe(false);
  });
});
