import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Spread } from './stats.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** `min / median / max` of a spread, for a table cell. */
export function cell(value: Spread | number | string | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'string') return String(value);
  return `${value.min} / ${value.median} / ${value.max}`;
}

/** Prints a titled table (columns from the first row's keys, in order) as Markdown, so it pastes into docs/. */
export function printTable(title: string, rows: Array<Record<string, Spread | number | string | undefined>>): void {
  console.log(`\n${title}`);
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const text = rows.map((row) => columns.map((column) => cell(row[column])));
  const widths = columns.map((column, i) => Math.max(column.length, ...text.map((line) => line[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((value, i) => value.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(columns));
  console.log(line(widths.map((width) => '-'.repeat(width))));
  for (const cells of text) console.log(line(cells));
}

/** The machine the numbers come from. */
export function machine(): Record<string, string | number> {
  const workerd = JSON.parse(readFileSync(`${root}node_modules/workerd/package.json`, 'utf8')) as { version: string };
  return {
    node: process.version,
    workerd: workerd.version,
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model ?? 'unknown',
    memory_mb: Math.round(totalmem() / 2 ** 20),
    // 1/5/15-minute load averages when the results were written: other work on the machine shows here.
    load_average: loadavg()
      .map((value) => Math.round(value * 100) / 100)
      .join(' / '),
  };
}

/**
 * Writes a benchmark's results to bench-results/<name>-<time>.json (git-ignored; BENCH_RESULTS_DIR
 * names another folder) and says where.
 */
export function writeResults(name: string, results: unknown): string {
  const dir = process.env.BENCH_RESULTS_DIR ?? `${root}bench-results`;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ machine: machine(), at: new Date().toISOString(), results }, null, 2)}\n`);
  console.log(`\nwritten to ${file}`);
  return file;
}
