// `npm run bench`: runs every benchmark under test/bench/ (*.bench.ts) one after another with
// Node's native TypeScript support. Benchmarks measure and print; they assert nothing.
// BENCH=realtime runs only the files whose name contains "realtime". Then test/bench/charts.ts draws
// the SVG charts (next to the JSON in bench-results/, and into docs/charts/) from the newest results.
//
// BENCH_AGAINST=<git revision> runs each benchmark on this checkout and on that revision in turn,
// BENCH_ROUNDS times each (default 2), and prints their figures side by side (test/bench/compare.ts),
// so a change is measured beside the code before it on the same machine at the same time. The
// revision is checked out in a temporary git worktree that uses this checkout's node_modules; a
// benchmark it does not have is run here only.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = join(root, 'test/bench/');
const only = process.env.BENCH ?? '';
const against = process.env.BENCH_AGAINST ?? '';
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 10) {
  console.error(`BENCH_ROUNDS must be a whole number from 1 to 10, not '${process.env.BENCH_ROUNDS}'`);
  process.exit(2);
}
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.bench.ts') && name.includes(only))
  .sort();

function git(...args) {
  const result = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr.trim()}`);
  return result.stdout.trim();
}

/** Runs one benchmark file in checkout `tree`; returns the result file it wrote (null if it failed). */
function run(file, tree) {
  const here = tree === root;
  // BENCH_RESULTS_DIR moves this checkout's results; the other revision writes into its own worktree.
  const results = here && process.env.BENCH_RESULTS_DIR ? process.env.BENCH_RESULTS_DIR : join(tree, 'bench-results');
  const runEnv = { ...env };
  if (!here) delete runEnv.BENCH_RESULTS_DIR;
  const before = new Set(existsSync(results) ? readdirSync(results) : []);
  const result = spawnSync(process.execPath, ['--experimental-strip-types', join(tree, 'test/bench', file)], {
    stdio: 'inherit',
    cwd: tree,
    env: runEnv,
  });
  if (result.status !== 0) return null;
  const name = file.replace(/\.bench\.ts$/, '');
  const written = (existsSync(results) ? readdirSync(results) : [])
    .filter((entry) => !before.has(entry) && entry.startsWith(`${name}-`) && entry.endsWith('.json'))
    .sort();
  return written.length > 0 ? join(results, written.at(-1)) : null;
}

/** A worktree of `revision` beside this checkout, with its node_modules and development settings. */
function checkoutOf(revision) {
  const commit = git('rev-parse', '--verify', `${revision}^{commit}`);
  const tree = join(mkdtempSync(join(tmpdir(), 'tidings-bench-')), commit.slice(0, 12));
  git('worktree', 'add', '--detach', tree, commit);
  symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'), 'dir');
  if (existsSync(join(root, '.dev.vars'))) copyFileSync(join(root, '.dev.vars'), join(tree, '.dev.vars'));
  return tree;
}

let failed = false;
let other = null;
try {
  if (against) {
    other = checkoutOf(against);
    console.log(`Comparing with ${against} (${other}), ${rounds} interleaved round(s) per benchmark`);
  }
  for (const file of files) {
    if (!other || !existsSync(join(other, 'test/bench', file))) {
      if (other) console.log(`\n== ${file} (${against} has no such benchmark: this checkout only)`);
      else console.log(`\n== ${file}`);
      if (!run(file, root)) failed = true;
      continue;
    }
    const ours = [];
    const theirs = [];
    for (let round = 1; round <= rounds; round++) {
      console.log(`\n== ${file}, round ${round} of ${rounds}: this checkout`);
      ours.push(run(file, root));
      console.log(`\n== ${file}, round ${round} of ${rounds}: ${against}`);
      theirs.push(run(file, other));
    }
    if ([...ours, ...theirs].some((result) => result === null)) {
      console.log(`\n${file}: a run failed or wrote no results, so there is no comparison`);
      failed = true;
      continue;
    }
    const label = file.replace(/\.bench\.ts$/, '');
    const compare = spawnSync(
      process.execPath,
      ['--experimental-strip-types', join(dir, 'compare.ts'), label, against, ours.join(','), theirs.join(',')],
      { stdio: 'inherit', env },
    );
    if (compare.status !== 0) failed = true;
  }
} finally {
  if (other) {
    git('worktree', 'remove', '--force', other);
    rmSync(join(other, '..'), { recursive: true, force: true });
  }
}
const charts = spawnSync(process.execPath, ['--experimental-strip-types', `${dir}charts.ts`], { stdio: 'inherit' });
process.exit(failed || charts.status !== 0 ? 1 : 0);
