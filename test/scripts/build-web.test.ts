import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const outdir = mkdtempSync(join(tmpdir(), 'tidings-web-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('npm run build (the web client)', () => {
  it('builds a minified bundle with no source map, and removes what an earlier build left', () => {
    writeFileSync(join(outdir, 'stale.js.map'), '{}');
    const result = spawnSync(process.execPath, ['scripts/build-web.mjs'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, WEB_OUTDIR: outdir },
    });
    expect(result.status).toBe(0);
    expect(readdirSync(outdir).sort()).toEqual(['_headers', 'assets', 'index.html', 'styles.css']);
    expect(readdirSync(join(outdir, 'assets')).sort()).toEqual(['app.js', 'chunks']);
    const code = readFileSync(join(outdir, 'assets', 'app.js'), 'utf8');
    for (const chunk of readdirSync(join(outdir, 'assets', 'chunks'))) {
      expect(chunk).not.toMatch(/\.map$/);
      expect(readFileSync(join(outdir, 'assets', 'chunks', chunk), 'utf8')).not.toContain('sourceMappingURL');
    }
    expect(code).not.toContain('sourceMappingURL');
    expect(code.split('\n').length).toBeLessThan(50);
    expect(existsSync(join(outdir, 'stale.js.map'))).toBe(false);
  });

  it('keeps ably-js out of app.js, in a chunk the page loads only when /api/config names Ably', () => {
    const chunks = readdirSync(join(outdir, 'assets', 'chunks'));
    const ably = chunks.filter((name) => /^ably-transport-[A-Z0-9]+\.js$/.test(name));
    expect(ably).toHaveLength(1);
    const app = readFileSync(join(outdir, 'assets', 'app.js'), 'utf8');
    expect(app).not.toContain('ably-js/');
    expect(app).toContain(`import("./chunks/${ably[0]}")`);
    expect(readFileSync(join(outdir, 'assets', 'chunks', ably[0]!), 'utf8')).toContain('ably-js/');
  });
});
