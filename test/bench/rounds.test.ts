import { orderOf } from '../../bench/rounds';

/** How often each server runs at each place over `rounds` rounds. */
function places(servers: readonly string[], rounds: number): Record<string, number[]> {
  const counts: Record<string, number[]> = Object.fromEntries(servers.map((server) => [server, servers.map(() => 0)]));
  for (let round = 0; round < rounds; round++) orderOf(servers, round).forEach((server, place) => counts[server]![place]!++);
  return counts;
}

describe("the bench's order of turns", () => {
  it('puts every server at every place as often, for two, three and four servers', () => {
    expect(places(['floor', 'proxy'], 4)).toEqual({ floor: [2, 2], proxy: [2, 2] });
    expect(places(['floor', 'proxy', 'functions'], 6)).toEqual({ floor: [2, 2, 2], proxy: [2, 2, 2], functions: [2, 2, 2] });
    expect(places(['a', 'b', 'c', 'd'], 8)).toEqual({ a: [2, 2, 2, 2], b: [2, 2, 2, 2], c: [2, 2, 2, 2], d: [2, 2, 2, 2] });
  });

  it('runs each server once a round', () => {
    for (let round = 0; round < 8; round++) expect([...orderOf(['a', 'b', 'c'], round)].sort()).toEqual(['a', 'b', 'c']);
  });
});
