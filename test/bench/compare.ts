// Prints the side-by-side table of one benchmark run on this checkout and on another revision:
//   node --experimental-strip-types test/bench/compare.ts <label> <rev> <ours.json,...> <theirs.json,...>
// scripts/bench.mjs runs it after the rounds of `BENCH_AGAINST=<rev> npm run bench`, and writes the
// table as JSON next to the results in bench-results/.
import { readFileSync } from 'node:fs';
import { compareRounds } from '../support/bench/compare.ts';
import { printTable, writeResults } from '../support/bench/report.ts';

const [label, revision, oursFiles, theirsFiles] = process.argv.slice(2);
if (!label || !revision || !oursFiles || !theirsFiles) {
  console.error('usage: compare.ts <label> <rev> <ours.json,...> <theirs.json,...>');
  process.exit(2);
}
const read = (files: string) => files.split(',').map((file) => (JSON.parse(readFileSync(file, 'utf8')) as { results?: unknown }).results);
const rows = compareRounds(read(oursFiles), read(theirsFiles));
const rounds = (values: number[]) => values.join(', ');
printTable(
  `${label}: this checkout beside ${revision}, interleaved; the median of each round`,
  rows.map((row) => ({ figure: row.figure, 'this checkout': rounds(row.ours), [revision]: rounds(row.theirs) })),
);
writeResults(`compare-${label}`, { against: revision, figures: rows });
