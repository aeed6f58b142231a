import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compareRounds, medians } from '../support/bench/compare.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const spread = (median: number) => ({ min: median - 1, median, max: median + 1 });

describe('benchmarks beside another revision (BENCH_AGAINST)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'bench-compare-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('finds every spread of a result by its path and takes its median', () => {
    const result = { insert_to_receipt: { inserts: 300, p50: spread(4.2), p99: spread(7.7) }, burst: { rows: 1000, lost: spread(0) } };
    expect([...medians(result)]).toEqual([
      ['insert_to_receipt.p50', 4.2],
      ['insert_to_receipt.p99', 7.7],
      ['burst.lost', 0],
    ]);
  });

  it('pairs the rounds figure by figure, leaving out a figure one side does not report', () => {
    const ours = [
      { a: spread(1), b: spread(10), new_figure: spread(5) },
      { a: spread(2), b: spread(11), new_figure: spread(6) },
    ];
    const theirs = [
      { a: spread(3), b: spread(12) },
      { a: spread(4), b: spread(13) },
    ];
    expect(compareRounds(ours, theirs)).toEqual([
      { figure: 'a', ours: [1, 2], theirs: [3, 4] },
      { figure: 'b', ours: [10, 11], theirs: [12, 13] },
    ]);
  });

  it('prints the side-by-side table from result files', () => {
    const write = (name: string, p50: number) => {
      const file = join(scratch, name);
      writeFileSync(file, JSON.stringify({ results: { insert_to_receipt: { p50: spread(p50) } } }));
      return file;
    };
    const run = spawnSync(
      process.execPath,
      [
        '--experimental-strip-types',
        join(root, 'test/bench/compare.ts'),
        'pipeline',
        'abc123',
        [write('o1.json', 4.4), write('o2.json', 4.2)].join(','),
        [write('t1.json', 2.7), write('t2.json', 2.9)].join(','),
      ],
      { encoding: 'utf8', cwd: scratch, env: { ...process.env, BENCH_RESULTS_DIR: join(scratch, 'results') } },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('pipeline: this checkout beside abc123');
    expect(run.stdout).toMatch(/\| insert_to_receipt\.p50 \| 4\.4, 4\.2 +\| 2\.7, 2\.9 +\|/);
    const [written] = readdirSync(join(scratch, 'results'));
    expect(written).toMatch(/^compare-pipeline-.*\.json$/);
    expect(JSON.parse(readFileSync(join(scratch, 'results', written!), 'utf8')).results).toEqual({
      against: 'abc123',
      figures: [{ figure: 'insert_to_receipt.p50', ours: [4.4, 4.2], theirs: [2.7, 2.9] }],
    });
  });
});
