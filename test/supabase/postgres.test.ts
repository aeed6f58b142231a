// The embedded Postgres under the local Supabase: when it cannot start, the one sentence
// `npm run dev` and the test run print must name the cause and the fix.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresStartError, preparePostgres, type RunningPostgres, startEmbeddedPostgres } from '../../supabase/local/postgres.ts';
import { freePort } from '../support/node/processes.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A folder the `postgres` user can reach (Postgres runs as it when the tests run as root), deleted after the test. */
async function scratchFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'tidings-postgres-'));
  await chmod(folder, 0o755);
  cleanups.push(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

describe('the embedded Postgres', () => {
  it('names a binary that cannot be run, with the fixes, instead of a bare "spawn … EACCES"', async () => {
    const runtime = await preparePostgres();
    const folder = await scratchFolder();
    // As on a file system mounted noexec, or after an install that lost the execute bits.
    const home = join(folder, 'binaries');
    await mkdir(join(home, 'bin'), { recursive: true, mode: 0o755 });
    const initdb = join(home, 'bin', 'initdb');
    await writeFile(initdb, '#!/bin/sh\nexit 0\n', { mode: 0o644 });

    const start = startEmbeddedPostgres({ dataDir: join(folder, 'db'), port: await freePort(), runtime: { ...runtime, home } });
    await expect(start).rejects.toBeInstanceOf(PostgresStartError);
    await expect(start).rejects.toThrow(
      `${initdb} cannot be run (EACCES): reinstall the Postgres binaries with "npm ci", keep the checkout off a file system mounted noexec, or set DATABASE_URL to a Postgres you run yourself.`,
    );
  });

  it('refuses a data folder another Postgres is running on, naming that server’s pid and port', async () => {
    const dataDir = join(await scratchFolder(), 'db');
    const firstPort = await freePort();
    const first: RunningPostgres = await startEmbeddedPostgres({ dataDir, port: firstPort });
    cleanups.push(() => first.stop());

    const second = startEmbeddedPostgres({ dataDir, port: await freePort() });
    await expect(second).rejects.toBeInstanceOf(PostgresStartError);
    await expect(second).rejects.toThrow(
      new RegExp(
        `^A Postgres \\(pid \\d+, port ${firstPort}\\) is already running on ${first.dataDir!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: stop it first \\(e\\.g\\. "kill \\d+"\\), or use another data folder \\(SUPABASE_DATA_DIR\\)\\.$`,
      ),
    );
  });
});
