import { readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFile(`${root}${path}`, 'utf8');

/** Node 22.18 is the first 22.x that strips types without --experimental-strip-types; we allow 22.12. */
const STRIP_TYPES = '--experimental-strip-types';

describe('the Node version the project asks for', () => {
  it('is >= 22.12 (wrangler, vitest and supabase-js) in package.json, .ci/run and the README', async () => {
    const engines = (JSON.parse(await read('package.json')) as { engines: { node: string } }).engines.node;
    expect(engines).toBe('>=22.12');
    expect(await read('.ci/run')).toContain('a > 22 || (a === 22 && b >= 12)');
    expect(await read('README.md')).toContain('Node.js 22.12 or newer');
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
