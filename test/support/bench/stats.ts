/** Statistics the benchmarks share: percentiles of samples and min/median/max over repeats. */

/** The p-th percentile (nearest rank) of samples; sorts a copy. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** p50/p95/p99 and max of latency samples, in ms rounded to 0.01. */
export function latencySummary(samples: readonly number[]): { n: number; p50: number; p95: number; p99: number; max: number } {
  return {
    n: samples.length,
    p50: round(percentile(samples, 50)),
    p95: round(percentile(samples, 95)),
    p99: round(percentile(samples, 99)),
    max: round(Math.max(...samples)),
  };
}

/** The samples' distribution: the 0th (smallest) to 100th (largest) percentile in ms, 101 values, for a CDF chart. */
export function distribution(samples: readonly number[]): number[] {
  const sorted = [...samples].sort((a, b) => a - b);
  return Array.from({ length: 101 }, (_, p) =>
    round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!),
  );
}

/** A figure measured several times: its smallest, median and largest value. */
export interface Spread {
  min: number;
  median: number;
  max: number;
}

/** min/median/max of one figure over repeats. */
export function spread(values: readonly number[]): Spread {
  return { min: round(Math.min(...values)), median: round(percentile(values, 50)), max: round(Math.max(...values)) };
}

/** Per-figure spreads of repeated records with the same numeric keys. */
export function spreads<K extends string>(repeats: ReadonlyArray<Record<K, number>>): Record<K, Spread> {
  const result = {} as Record<K, Spread>;
  for (const key of Object.keys(repeats[0] ?? {}) as K[]) result[key] = spread(repeats.map((repeat) => repeat[key]));
  return result;
}

/** Rounds to two decimals (times in ms, rates). */
export function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Tidings' median over the baseline's median, e.g. 3.2 (times slower / larger). */
export function ratio(ours: Spread, baseline: Spread): number {
  return baseline.median === 0 ? Number.NaN : Math.round((ours.median / baseline.median) * 10) / 10;
}

/** A wall-clock time in ms with sub-ms precision that is comparable across processes on one machine. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
