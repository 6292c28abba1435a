/**
 * The order servers take turns in, round by round: each pair of rounds rotated one further, the second of the pair
 * reversed, so that every server runs first, last and in between as often, whatever their number. (Rotating every
 * round and reversing the odd ones, as before, ran two servers in the same order every round: the floor always
 * first.)
 */
export function orderOf<T>(all: readonly T[], round: number): T[] {
  const by = Math.floor(round / 2) % all.length;
  const rotated = [...all.slice(by), ...all.slice(0, by)];
  return round % 2 === 0 ? rotated : rotated.reverse();
}
