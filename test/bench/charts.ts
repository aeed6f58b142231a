// Draws the benchmark charts from the newest results in bench-results/ that hold each chart's
// numbers: SVG files next to that JSON, and the same files in docs/charts/, which
// docs/performance.md shows. `npm run bench` runs it last; `node test/bench/charts.ts` redraws.
//   latency-cdf.svg       trigger → receive, distribution of every sample, baseline against Tidings
//   fanout-last.svg       one event to N sockets, last receiver against N, per server and shard count
//   burst-throughput.svg  1,000-row bursts from the database to pusher-js, notifications per second
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Bar, barChart, lineChart, type Series } from '../support/bench/charts.ts';
import type { Spread } from '../support/bench/stats.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const resultsDir = process.env.BENCH_RESULTS_DIR ?? `${root}bench-results`;
const docsDir = process.env.BENCH_CHARTS_DIR ?? `${root}docs/charts`;

interface Results<T> {
  file: string;
  at: string;
  results: T;
}

interface RealtimeResults {
  latency?: Record<string, { shards: number | null; distribution?: number[] }>;
  fanout?: Record<string, { shards: number | null; rows: Array<{ sockets: number; last?: Spread }> }>;
}

interface PipelineResults {
  burst?: { rows: number; per_second: Spread };
  row_burst?: { rows: number; connections: number; per_second: Spread };
}

/** The newest `<bench>-*.json` whose results pass `has`, or null. */
function newest<T>(bench: string, has: (results: T) => boolean): Results<T> | null {
  if (!existsSync(resultsDir)) return null;
  const files = readdirSync(resultsDir)
    .filter((name) => name.startsWith(`${bench}-`) && name.endsWith('.json'))
    .sort()
    .reverse();
  for (const name of files) {
    const parsed = JSON.parse(readFileSync(`${resultsDir}/${name}`, 'utf8')) as { at: string; results: T };
    if (has(parsed.results)) return { file: `${resultsDir}/${name}`, at: parsed.at, results: parsed.results };
  }
  return null;
}

/** Writes `svg` next to the results it was drawn from and into docs/charts/. */
function save(from: Results<unknown>, chart: string, svg: string): void {
  const beside = from.file.replace(/\.json$/, `.${chart}.svg`);
  writeFileSync(beside, svg);
  mkdirSync(docsDir, { recursive: true });
  copyFileSync(beside, `${docsDir}/${chart}.svg`);
  console.log(`chart ${chart}: ${beside} (from ${basename(from.file)}), copied to ${docsDir}/${chart}.svg`);
}

const day = (at: string) => at.slice(0, 10);

const latency = newest<RealtimeResults>('realtime', (r) => Object.values(r.latency ?? {}).some((server) => server.distribution));
if (latency) {
  const series: Series[] = Object.entries(latency.results.latency!)
    .filter(([, server]) => server.distribution)
    .map(([name, server]) => ({ name, points: server.distribution!.map((ms, p) => [ms, p] as const) }));
  save(
    latency,
    'latency-cdf',
    lineChart({
      title: `Trigger → receive: share of events received within a time (${day(latency.at)})`,
      xLabel: 'ms from trigger to receipt (log scale)',
      yLabel: '% of events',
      xScale: 'log',
      yMax: 100,
      steps: true,
      series,
    }),
  );
} else console.log('chart latency-cdf: no realtime results with latency distributions yet (BENCH=realtime npm run bench)');

const fanout = newest<RealtimeResults>('realtime', (r) => Object.keys(r.fanout ?? {}).length > 0);
if (fanout) {
  const series: Series[] = Object.entries(fanout.results.fanout!).map(([name, { rows }]) => ({
    name,
    points: rows.filter((row) => row.sockets > 0 && row.last).map((row) => [row.sockets, row.last!.median] as const),
  }));
  save(
    fanout,
    'fanout-last',
    lineChart({
      title: `One event to N sockets: when the last one has it (median, ${day(fanout.at)})`,
      xLabel: 'subscribed sockets',
      yLabel: 'ms from trigger to the last receipt',
      series,
    }),
  );
} else console.log('chart fanout-last: no realtime results with fan-out rows yet (BENCH=realtime npm run bench)');

const bursts = newest<PipelineResults>('pipeline', (r) => Boolean(r.burst || r.row_burst));
if (bursts) {
  const { burst, row_burst: rowBurst } = bursts.results;
  const bars: Bar[] = [];
  if (burst) bars.push(barOf(`one INSERT of ${burst.rows.toLocaleString('en-US')} rows`, burst.per_second));
  if (rowBurst)
    bars.push(barOf(`${rowBurst.rows.toLocaleString('en-US')} one-row INSERTs (${rowBurst.connections} connections)`, rowBurst.per_second));
  save(
    bursts,
    'burst-throughput',
    barChart({
      title: `Bursts from the database to pusher-js: notifications per second (${day(bursts.at)})`,
      yLabel: 'notifications received per second (median, min–max)',
      bars,
    }),
  );
} else console.log('chart burst-throughput: no pipeline results with bursts yet (BENCH=pipeline npm run bench)');

function barOf(label: string, spread: Spread): Bar {
  return { label, value: spread.median, low: spread.min, high: spread.max };
}
