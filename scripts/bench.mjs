// `npm run bench`: runs every benchmark under test/bench/ (*.bench.ts) one after another with
// Node's native TypeScript support. Benchmarks measure and print; they assert nothing.
// BENCH=realtime runs only the files whose name contains "realtime". Then test/bench/charts.ts draws
// the SVG charts (next to the JSON in bench-results/, and into docs/charts/) from the newest results.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../test/bench/', import.meta.url));
const only = process.env.BENCH ?? '';
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.bench.ts') && name.includes(only))
  .sort();
let failed = false;
for (const file of files) {
  console.log(`\n== ${file}`);
  const result = spawnSync(process.execPath, ['--experimental-strip-types', `${dir}${file}`], {
    stdio: 'inherit',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  });
  if (result.status !== 0) failed = true;
}
const charts = spawnSync(process.execPath, ['--experimental-strip-types', `${dir}charts.ts`], { stdio: 'inherit' });
process.exit(failed || charts.status !== 0 ? 1 : 0);
