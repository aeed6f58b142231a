import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { preparePostgres, startEmbeddedPostgres } from '../../../supabase/local/postgres.ts';
import { freePort } from './processes.ts';

/**
 * Starts and stops one Postgres before any Node-side test file runs, so a machine where the local
 * Supabase cannot start fails the whole run at once with the cause and the fix, instead of every
 * file that needs a database timing out on its own. Also makes the binaries' shared copy (when the
 * checkout is private and this runs as root) once, before the files start in parallel.
 */
export default async function setup(): Promise<void> {
  const parent = await mkdtemp(join(tmpdir(), 'tidings-postgres-check-'));
  try {
    // As root, Postgres runs as the `postgres` user, which must reach the folder mkdtemp made private.
    await chmod(parent, 0o755);
    const runtime = await preparePostgres();
    const postgres = await startEmbeddedPostgres({ dataDir: join(parent, 'db'), port: await freePort(), runtime });
    await postgres.stop();
  } catch (error) {
    throw new Error(`The local Supabase cannot start Postgres, so the tests that need a database cannot run. ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
}
