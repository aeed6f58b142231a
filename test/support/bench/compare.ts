/**
 * Side by side: the same benchmark run on this checkout and on another revision, round after round
 * (`BENCH_AGAINST=<rev> npm run bench`, see scripts/bench.mjs). Every figure a result reports as a
 * spread (min / median / max over its repeats) is compared by its medians, one per round.
 */

/** A result's figures: the dotted path of every `{min, median, max}` spread to its median. */
export function medians(value: unknown, path = ''): Map<string, number> {
  const found = new Map<string, number>();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return found;
  const record = value as Record<string, unknown>;
  if (typeof record.median === 'number' && typeof record.min === 'number' && typeof record.max === 'number') {
    found.set(path, record.median);
    return found;
  }
  for (const [key, inner] of Object.entries(record)) {
    for (const [figure, median] of medians(inner, path ? `${path}.${key}` : key)) found.set(figure, median);
  }
  return found;
}

/** One figure of the comparison: its median in each round, here and at the other revision. */
export interface Compared {
  figure: string;
  ours: number[];
  theirs: number[];
}

/**
 * The figures both sides report, in this checkout's order, with each round's median; a figure only
 * one side reports is left out (the other revision may predate it).
 */
export function compareRounds(ours: unknown[], theirs: unknown[]): Compared[] {
  const oursByRound = ours.map((result) => medians(result));
  const theirsByRound = theirs.map((result) => medians(result));
  const figures = [...(oursByRound[0]?.keys() ?? [])].filter((figure) =>
    [...oursByRound, ...theirsByRound].every((round) => round.has(figure)),
  );
  return figures.map((figure) => ({
    figure,
    ours: oursByRound.map((round) => round.get(figure)!),
    theirs: theirsByRound.map((round) => round.get(figure)!),
  }));
}
