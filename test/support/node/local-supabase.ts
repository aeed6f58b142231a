import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type LocalSupabase, type LocalSupabaseOptions, startLocalSupabase } from '../../../supabase/local/index.ts';
import { freePort } from './processes.ts';

/** A local Supabase on free ports with a fresh data folder, for one test file. */
export interface TestSupabase extends LocalSupabase {
  dataDir: string;
  dbPort: number;
  /** A connection to its Postgres as `postgres`, as psql would open one; closed by {@link destroy}. */
  connect: () => Promise<pg.Client>;
  /** Closes the connections {@link connect} opened, stops it and deletes its data folder. */
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
  const clients: pg.Client[] = [];
  return {
    ...supabase,
    dataDir,
    dbPort,
    connect: async () => {
      const client = new pg.Client({ connectionString: supabase.databaseUrl });
      await client.connect();
      clients.push(client);
      return client;
    },
    destroy: async () => {
      await Promise.all(clients.splice(0).map((client) => client.end().catch(() => {})));
      await supabase.stop();
      await rm(parent, { recursive: true, force: true });
    },
  };
}
