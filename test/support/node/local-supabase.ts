import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalSupabase, type LocalSupabaseOptions, startLocalSupabase } from '../../../supabase/local/index.ts';
import { freePort } from './processes.ts';

/** A local Supabase on free ports with a fresh data folder, for one test file. */
export interface TestSupabase extends LocalSupabase {
  dataDir: string;
  dbPort: number;
  /** Stops it and deletes its data folder. */
  destroy: () => Promise<void>;
}

/** Starts a local Supabase in a temporary folder on free ports. */
export async function startTestSupabase(options: Partial<LocalSupabaseOptions> = {}): Promise<TestSupabase> {
  const parent = await mkdtemp(join(tmpdir(), 'tidings-supabase-'));
  // As root, Postgres runs as the `postgres` user, which must reach the folder mkdtemp made private.
  await chmod(parent, 0o755);
  const dataDir = join(parent, 'db');
  const dbPort = await freePort();
  const supabase = await startLocalSupabase({ dataDir, dbPort, apiPort: 0, ...options });
  return {
    ...supabase,
    dataDir,
    dbPort,
    destroy: async () => {
      await supabase.stop();
      await rm(parent, { recursive: true, force: true });
    },
  };
}
