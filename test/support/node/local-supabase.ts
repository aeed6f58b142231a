import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@supabase/supabase-js';
import pg from 'pg';
import { type LocalSupabase, type LocalSupabaseOptions, startLocalSupabase } from '../../../supabase/local/index.ts';
import { freePort } from './processes.ts';

/** A local Supabase on free ports with a fresh data folder, for one test file. */
export interface TestSupabase extends LocalSupabase {
  dataDir: string;
  dbPort: number;
  /** A connection to its Postgres as `postgres`, as psql would open one; closed by {@link destroy}. */
  connect: () => Promise<pg.Client>;
  /** The access token a password sign-in at its `/auth/v1` gives, as the web client signs in. */
  accessToken: (account: { email: string; password: string }) => Promise<string>;
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
  const auth = createClient(supabase.apiUrl, supabase.anonKey, { auth: { persistSession: false, autoRefreshToken: false } }).auth;
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
    accessToken: async ({ email, password }) => {
      const { data, error } = await auth.signInWithPassword({ email, password });
      if (error || !data.session) throw new Error(`${email} could not sign in: ${error?.message ?? 'no session'}`);
      return data.session.access_token;
    },
    destroy: async () => {
      await Promise.all(clients.splice(0).map((client) => client.end().catch(() => {})));
      await supabase.stop();
      await rm(parent, { recursive: true, force: true });
    },
  };
}
