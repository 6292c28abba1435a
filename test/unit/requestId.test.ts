import { newRequestId } from '../../src/core/requestId';

describe('newRequestId', () => {
  it('makes version 4 UUIDs, all different, past the pool of random bytes they are drawn from', () => {
    const ids = Array.from({ length: 2000 }, () => newRequestId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('uses every hex digit in every free position (random, not a pattern)', () => {
    const seen = Array.from({ length: 36 }, () => new Set<string>());
    for (let i = 0; i < 4000; i++) [...newRequestId()].forEach((c, at) => seen[at]!.add(c));
    const free = [...Array(36).keys()].filter((at) => ![8, 13, 14, 18, 19, 23].includes(at));
    for (const at of free) expect(seen[at]!.size).toBe(16);
    expect(seen[14]).toEqual(new Set(['4']));
    expect([...seen[19]!].sort()).toEqual(['8', '9', 'a', 'b']);
  });
});
