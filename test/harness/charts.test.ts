import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { barChart, escapeXml, linearTicks, lineChart, logTicks } from '../support/bench/charts.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The numbers of a `points="x,y x,y"` attribute of the element marked `marker`. */
function pointsOf(svg: string, marker: string): Array<[number, number]> {
  const element = new RegExp(`<polyline ${marker}[^>]*points="([^"]+)"`).exec(svg);
  if (!element) throw new Error(`no polyline ${marker}`);
  return element[1]!.split(' ').map((pair) => pair.split(',').map(Number) as [number, number]);
}

describe('benchmark charts (plain SVG)', () => {
  it('chooses round ticks that cover the data', () => {
    expect(linearTicks(0, 18.7)).toEqual([0, 5, 10, 15, 20]);
    expect(linearTicks(0, 100)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(logTicks(0.21, 23)).toEqual([0.5, 1, 2, 5, 10, 20]);
  });

  it('draws one line per series, left to right, higher values higher up, named in the legend', () => {
    const svg = lineChart({
      title: 'Fan-out <last>',
      xLabel: 'sockets',
      yLabel: 'ms',
      series: [
        {
          name: 'baseline',
          points: [
            [1000, 8],
            [5000, 40],
          ],
        },
        {
          name: 'Tidings & co',
          points: [
            [1000, 20],
            [5000, 96],
          ],
        },
      ],
    });
    const baseline = pointsOf(svg, 'data-series="baseline"');
    const ours = pointsOf(svg, 'data-series="Tidings &amp; co"');
    expect(baseline[1]![0]).toBeGreaterThan(baseline[0]![0]);
    expect(baseline[1]![1]).toBeLessThan(baseline[0]![1]); // SVG's y grows downwards
    expect(ours[0]![0]).toBe(baseline[0]![0]);
    expect(ours[0]![1]).toBeLessThan(baseline[0]![1]);
    // Everything stays inside the picture.
    for (const [x, y] of [...baseline, ...ours]) {
      expect(x).toBeGreaterThan(0);
      expect(x).toBeLessThanOrEqual(760);
      expect(y).toBeGreaterThan(0);
      expect(y).toBeLessThan(460);
    }
    expect(svg).toContain('>Tidings &amp; co</text>');
    expect(svg).toContain('<title>Fan-out &lt;last&gt;</title>');
    expect(svg).not.toContain('<last>');
  });

  it('draws a distribution as a staircase on a log scale', () => {
    const svg = lineChart({
      title: 'CDF',
      xLabel: 'ms',
      yLabel: '%',
      xScale: 'log',
      yMax: 100,
      steps: true,
      series: [
        {
          name: 'ours',
          points: [
            [0.5, 0],
            [1, 50],
            [10, 100],
          ],
        },
      ],
    });
    const points = pointsOf(svg, 'data-series="ours"');
    // Each step goes across at the previous height, then up: 3 points become 5.
    expect(points).toHaveLength(5);
    expect(points[1]![1]).toBe(points[0]![1]);
    // 1 → 10 is one decade, as wide as 0.1 → 1 would be: 1 sits a third of the way from 0.5 to 10 on a log axis.
    const [start, middle, end] = [points[0]![0], points[2]![0], points[4]![0]];
    expect((middle - start) / (end - start)).toBeCloseTo(Math.log10(2) / Math.log10(20), 2);
    expect(svg).toContain('>10</text>');
  });

  it('draws bars proportional to their medians, with min–max whiskers', () => {
    const svg = barChart({
      title: 'Bursts',
      yLabel: 'per second',
      bars: [
        { label: 'one statement', value: 1000, low: 900, high: 1100 },
        { label: 'one-row statements', value: 500, low: 450, high: 600 },
      ],
    });
    const heights = [...svg.matchAll(/<rect data-bar="[^"]+"[^>]* height="([\d.]+)"/g)].map((match) => Number(match[1]));
    expect(heights).toHaveLength(2);
    expect(heights[0]! / heights[1]!).toBeCloseTo(2, 1);
    expect(svg).toContain('>one-row statements</text>');
  });

  it('escapes text for SVG', () => {
    expect(escapeXml(`<a href="x">&</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;');
  });
});

describe('test/bench/charts.ts', () => {
  const results = mkdtempSync(join(tmpdir(), 'tidings-bench-results-'));
  const docs = mkdtempSync(join(tmpdir(), 'tidings-charts-'));
  afterAll(() => {
    rmSync(results, { recursive: true, force: true });
    rmSync(docs, { recursive: true, force: true });
  });

  it('draws each chart from the newest results that hold its numbers, beside them and into the docs folder', () => {
    const spread = (median: number) => ({ min: median * 0.9, median, max: median * 1.1 });
    const write = (name: string, at: string, data: unknown) =>
      writeFileSync(join(results, name), JSON.stringify({ machine: {}, at, results: data }));
    write('realtime-2026-12-01T00-00-00-000Z.json', '2026-12-01T00:00:00Z', {
      latency: { baseline: { shards: null, distribution: Array.from({ length: 101 }, (_, p) => 0.2 + p / 100) } },
      fanout: { baseline: { shards: null, rows: [{ sockets: 1000, last: spread(8) }] } },
    });
    // Newer, but a targets-only run: no latency distribution, no fan-out rows.
    write('realtime-2026-12-02T00-00-00-000Z.json', '2026-12-02T00:00:00Z', { latency: {}, fanout: {}, targets: [] });
    write('pipeline-2026-12-02T00-00-00-000Z.json', '2026-12-02T00:00:00Z', {
      burst: { rows: 1000, per_second: spread(1500) },
      row_burst: { rows: 1000, connections: 10, per_second: spread(800) },
    });
    const run = spawnSync(process.execPath, ['--experimental-strip-types', 'test/bench/charts.ts'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, BENCH_RESULTS_DIR: results, BENCH_CHARTS_DIR: docs },
    });
    expect(run.status, run.stderr).toBe(0);
    expect(readdirSync(docs).sort()).toEqual(['burst-throughput.svg', 'fanout-last.svg', 'latency-cdf.svg']);
    expect(
      readdirSync(results)
        .filter((name) => name.endsWith('.svg'))
        .sort(),
    ).toEqual([
      'pipeline-2026-12-02T00-00-00-000Z.burst-throughput.svg',
      'realtime-2026-12-01T00-00-00-000Z.fanout-last.svg',
      'realtime-2026-12-01T00-00-00-000Z.latency-cdf.svg',
    ]);
    expect(readFileSync(join(docs, 'latency-cdf.svg'), 'utf8')).toContain('(2026-12-01)');
    expect(readFileSync(join(docs, 'burst-throughput.svg'), 'utf8')).toContain('>1,000 one-row INSERTs (10 connections)</text>');
  });
});
