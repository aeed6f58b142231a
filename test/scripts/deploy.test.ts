import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unstable_readConfig } from 'wrangler';
import { SECRET_SETTINGS } from '../../functions/secret-settings.ts';
import { copyCheckout } from '../support/node/checkout.ts';
import { readDevVars } from '../support/node/dev-vars.ts';

/** The Worker bundle's budget, gzip (README, "Deploy"). Workers Free accepts 3 MB, Paid 10 MB; less also starts faster. */
const BUNDLE_BUDGET_GZIP_KIB = 512;

/** Names an ES module's `export { a, b as c }` statements export. */
function exportedNames(code: string): string[] {
  return [...code.matchAll(/export\s*\{([^}]*)\}/g)].flatMap((match) =>
    match[1]!
      .split(',')
      .map(
        (item) =>
          item
            .trim()
            .split(/\s+as\s+/)
            .at(-1)!,
      )
      .filter(Boolean),
  );
}

// `wrangler deploy --dry-run` does everything a deploy does but upload: run on a copy of the checkout
// as a fresh clone has it (no web/dist), as a user deploying for the first time would.
describe('wrangler deploy --dry-run from a fresh clone', () => {
  let folder: string;
  let checkout: string;
  let output: string;
  let bundle: string;
  let config: ReturnType<typeof unstable_readConfig>;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'tidings-deploy-'));
    checkout = join(folder, 'tidings');
    await copyCheckout(checkout);
    const result = await promisify(execFile)(
      process.execPath,
      ['node_modules/wrangler/bin/wrangler.js', 'deploy', '--dry-run', '--outdir', join(folder, 'bundle')],
      { cwd: checkout, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1' } },
    );
    output = result.stdout + result.stderr;
    bundle = readFileSync(join(folder, 'bundle', 'index.js'), 'utf8');
    config = unstable_readConfig({ config: join(checkout, 'wrangler.toml') });
  }, 120_000);
  afterAll(async () => {
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('builds the web client first and uploads it as the static assets, minified and without source maps', () => {
    expect(output).toMatch(/\[custom build\] Running: .*node scripts\/build-web\.mjs/);
    // The development settings file is made for `wrangler dev` only.
    expect(existsSync(join(checkout, '.dev.vars'))).toBe(false);
    expect(output).toMatch(/Read \d+ files from the assets directory/);
    const files = readdirSync(join(checkout, 'web', 'dist'), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name).slice(join(checkout, 'web', 'dist').length + 1))
      .sort();
    // The entry, the page and its styles, the assets' headers, and code-split chunks (the Ably client, loaded only when needed).
    expect(files.filter((file) => !file.startsWith('assets/chunks/'))).toEqual(['_headers', 'assets/app.js', 'index.html', 'styles.css']);
    expect(files.filter((file) => file.startsWith('assets/chunks/')).every((file) => /^assets\/chunks\/[\w-]+\.js$/.test(file))).toBe(true);
    for (const file of files.filter((name) => name.endsWith('.js')))
      expect(readFileSync(join(checkout, 'web', 'dist', file), 'utf8')).not.toContain('sourceMappingURL');
  });

  it(`keeps the Worker bundle within its budget of ${BUNDLE_BUDGET_GZIP_KIB} KiB gzip`, () => {
    const gzipKiB = gzipSync(bundle).length / 1024;
    expect(gzipKiB).toBeGreaterThan(10); // the whole Worker, not an empty file
    expect(gzipKiB).toBeLessThanOrEqual(BUNDLE_BUDGET_GZIP_KIB);
  });

  it('exports every Durable Object class the bindings name, each created by a migration and not deleted since', () => {
    const created = new Set<string>();
    for (const migration of config.migrations) {
      for (const name of [...(migration.new_sqlite_classes ?? []), ...(migration.new_classes ?? [])]) created.add(name);
      for (const { to } of migration.renamed_classes ?? []) created.add(to);
      for (const name of migration.deleted_classes ?? []) created.delete(name);
    }
    const bound = config.durable_objects.bindings.map((binding: { class_name: string }) => binding.class_name).sort();
    expect(bound).toEqual(['RealtimeChannel', 'RealtimeDirectory', 'RealtimeShard']);
    expect([...created].sort()).toEqual(bound);
    expect(exportedNames(bundle)).toEqual(expect.arrayContaining([...bound, 'default']));
    // Migration tags are applied in order, once each: a repeated tag would be skipped.
    const tags = config.migrations.map((migration: { tag: string }) => migration.tag);
    expect(new Set(tags).size).toBe(tags.length);
  });

  it('runs the redelivery Cron Trigger every minute', () => {
    expect(config.triggers.crons).toEqual(['* * * * *']);
    expect(bundle).toMatch(/\bscheduled\b/);
  });

  it('keeps every secret out of wrangler.toml [vars], by name and by value', () => {
    const vars = config.vars as Record<string, unknown>;
    expect(Object.keys(vars).filter((name) => (SECRET_SETTINGS as readonly string[]).includes(name))).toEqual([]);
    const devVars = readDevVars();
    const secretValues = SECRET_SETTINGS.map((name) => devVars[name]).filter((value): value is string => Boolean(value));
    expect(secretValues.length).toBeGreaterThanOrEqual(4);
    for (const value of Object.values(vars)) expect(secretValues).not.toContain(value);
    // The dry run lists what would be uploaded as plain vars: no secret among them.
    for (const name of SECRET_SETTINGS) expect(output).not.toContain(`env.${name} `);
  });
});
