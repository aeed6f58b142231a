import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFile(`${root}${path}`, 'utf8');

/** Node 22.18 is the first 22.x that strips types without --experimental-strip-types; we allow 22.12. */
const STRIP_TYPES = '--experimental-strip-types';

describe('the Node version the project asks for', () => {
  it('is >= 22.12 (wrangler, vitest and supabase-js): package.json says so and .ci/run installs Node 24 under anything older', async () => {
    const engines = (JSON.parse(await read('package.json')) as { engines: { node: string } }).engines.node;
    expect(engines).toBe('>=22.12');
    // .ci/run's own check, run against the node on PATH reporting each version (a preload fakes it).
    const check = /^node_is_recent_enough\(\) \{\n[\s\S]*?\n\}$/m.exec(await read('.ci/run'))?.[0];
    expect(check, '.ci/run defines node_is_recent_enough').toBeDefined();
    const dir = await mkdtemp(join(tmpdir(), 'tidings-node-version-'));
    try {
      const preload = join(dir, 'fake-version.mjs');
      await writeFile(preload, `Object.defineProperty(process.versions, 'node', { value: process.env.FAKE_NODE_VERSION });\n`);
      const recentEnough = (version: string) =>
        spawnSync('bash', ['-c', `${check}\nnode_is_recent_enough`], {
          env: { ...process.env, NODE_OPTIONS: `--import=${pathToFileURL(preload).href}`, FAKE_NODE_VERSION: version },
        }).status === 0;
      const versions = ['20.18.0', '21.7.3', '22.11.0', '22.12.0', '22.18.1', '23.0.0', '24.1.0'];
      expect(Object.fromEntries(versions.map((version) => [version, recentEnough(version)]))).toEqual({
        '20.18.0': false,
        '21.7.3': false,
        '22.11.0': false,
        '22.12.0': true,
        '22.18.1': true,
        '23.0.0': true,
        '24.1.0': true,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('starts every Node-side .ts file with --experimental-strip-types, so 22.12-22.17 run them too', async () => {
    const scripts = (JSON.parse(await read('package.json')) as { scripts: Record<string, string> }).scripts;
    const tsScripts = Object.entries(scripts).filter(([, command]) => /^node .*\.ts\b/.test(command));
    expect(tsScripts.map(([name]) => name)).toEqual(expect.arrayContaining(['supabase', 'db:webhook']));
    for (const [name, command] of tsScripts) expect(command, name).toContain(`node ${STRIP_TYPES} `);

    // Node-side launchers that spawn .ts files.
    const launchers = ['scripts/dev.mjs', 'scripts/bench.mjs', 'test/support/bench/servers.ts', 'test/support/bench/socket-pool.ts'];
    for (const file of launchers) expect(await read(file), file).toContain(STRIP_TYPES);
    expect((await readdir(`${root}scripts`)).filter((name) => name.endsWith('.ts'))).toEqual([]);
  });
});
