import pg from 'pg';
import { setWebhookSettings } from '../../supabase/local/index.ts';
import { readDevVars } from './dev-vars.ts';
import { startTestSupabase, type TestSupabase } from './local-supabase.ts';
import { freePort } from './processes.ts';
import { startWorker, type RunningWorker } from './worker.ts';

/** The whole local stack for one test file: a local Supabase and the Worker, wired together. */
export interface Stack {
  supabase: TestSupabase;
  worker: RunningWorker;
  /** The development settings the Worker runs with (.dev.vars.example plus the overrides). */
  vars: Record<string, string>;
  /** Stops the Worker and the local Supabase, and deletes the database. */
  stop: () => Promise<void>;
}

/**
 * Starts a local Supabase on free ports and a Worker under `wrangler dev` pointed at it, then points
 * the database webhook at the Worker, exactly as `npm run dev` wires them.
 */
export async function startStack(options: { workerVars?: Record<string, string> } = {}): Promise<Stack> {
  const devVars = readDevVars();
  const supabase = await startTestSupabase();
  let worker: RunningWorker | undefined;
  try {
    // The Worker's port is picked only now: picked before Postgres started, one of Postgres's own
    // connections could take it in the meantime.
    worker = await startWorkerFor(supabase, devVars, options.workerVars);
    const admin = new pg.Client({ connectionString: supabase.databaseUrl });
    await admin.connect();
    try {
      await setWebhookSettings(admin, `${worker.url}/webhooks/db`, devVars.DB_WEBHOOK_SECRET!);
    } finally {
      await admin.end();
    }
  } catch (error) {
    await worker?.stop();
    await supabase.destroy();
    throw error;
  }
  const running = worker;
  return {
    supabase,
    worker: running,
    vars: workerVarsFor(supabase, devVars, running.port, options.workerVars),
    stop: async () => {
      await running.stop();
      await supabase.destroy();
    },
  };
}

function workerVarsFor(supabase: TestSupabase, devVars: Record<string, string>, port: number, overrides: Record<string, string> = {}) {
  return { ...devVars, SUPABASE_URL: supabase.apiUrl, PUSHER_PORT: String(port), ...overrides };
}

/** Starts the Worker on a free port, trying another port if one is taken between pick and bind. */
async function startWorkerFor(supabase: TestSupabase, devVars: Record<string, string>, overrides?: Record<string, string>): Promise<RunningWorker> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await startWorker({ port, vars: workerVarsFor(supabase, devVars, port, overrides) });
    } catch (error) {
      if (attempt === 3 || !/EADDRINUSE|address already in use/i.test(String(error))) throw error;
    }
  }
}
