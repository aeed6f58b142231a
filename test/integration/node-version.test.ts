import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFile(`${root}${path}`, 'utf8');

/** Node 22.18.0 is the first 22.x that runs `.ts` files without --experimental-strip-types. */
const STRIPS_TYPES_BY_DEFAULT = [22, 18] as const;

describe('the Node version the project asks for', () => {
  it('runs the Node-side TypeScript (npm run supabase, npm run db:webhook) without flags', async () => {
    const scripts = (JSON.parse(await read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.supabase).toMatch(/^node \S+\.ts$/);
    const engines = (JSON.parse(await read('package.json')) as { engines: { node: string } }).engines.node;
    const [major, minor] = /^>=(\d+)\.(\d+)$/.exec(engines)!.slice(1).map(Number) as [number, number];
    expect(major * 1000 + minor).toBeGreaterThanOrEqual(STRIPS_TYPES_BY_DEFAULT[0] * 1000 + STRIPS_TYPES_BY_DEFAULT[1]);
  });

  it('is the same in package.json, .ci/run and the README', async () => {
    const engines = (JSON.parse(await read('package.json')) as { engines: { node: string } }).engines.node;
    const [major, minor] = /^>=(\d+)\.(\d+)$/.exec(engines)!.slice(1);
    expect(await read('.ci/run')).toContain(`a > ${major} || (a === ${major} && b >= ${minor})`);
    expect(await read('README.md')).toContain(`Node.js ${major}.${minor} or newer`);
  });
});
