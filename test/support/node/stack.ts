import pg from 'pg';
import { setWebhookSettings } from '../../../supabase/local/index.ts';
import { readDevVars } from './dev-vars.ts';
import { startTestSupabase, type TestSupabase } from './local-supabase.ts';
import { onFreePort } from './processes.ts';
import { type RunningWorker, startWorker } from './worker.ts';

/** Whatever serves the Worker on a port: `wrangler dev` in tests, workerd directly in benchmarks. */
export interface StackWorker {
  port: number;
  stop: () => Promise<void>;
}

/** The whole local stack for one test file: a local Supabase and the Worker, wired together. */
export interface Stack<Worker extends StackWorker = RunningWorker> {
  supabase: TestSupabase;
  worker: Worker;
  /** The development settings the Worker runs with (.dev.vars.example plus the overrides). */
  vars: Record<string, string>;
  /** Stops the Worker and the local Supabase, and deletes the database. */
  stop: () => Promise<void>;
}

/**
 * Starts a local Supabase on free ports and a Worker under `wrangler dev` pointed at it, then points
 * the database webhook at the Worker, exactly as `npm run dev` wires them.
 */
export function startStack(options: { workerVars?: Record<string, string> } = {}): Promise<Stack> {
  return startStackWith((port, vars) => startWorker({ port, vars }), options);
}

/** {@link startStack} with another way of running the Worker on a given port with given settings. */
export async function startStackWith<Worker extends StackWorker>(
  startWorkerAt: (port: number, vars: Record<string, string>) => Promise<Worker>,
  options: { workerVars?: Record<string, string> } = {},
): Promise<Stack<Worker>> {
  const devVars = readDevVars();
  const supabase = await startTestSupabase();
  let vars: Record<string, string> = {};
  let worker: Worker;
  try {
    // The Worker's port is picked only now: picked before Postgres started, one of Postgres's own
    // connections could take it in the meantime.
    worker = await onFreePort((port) => {
      vars = { ...devVars, SUPABASE_URL: supabase.apiUrl, PUSHER_PORT: String(port), ...options.workerVars };
      return startWorkerAt(port, vars);
    });
  } catch (error) {
    await supabase.destroy();
    throw error;
  }
  // The browser tests load the page from the Worker, which calls the local Supabase from there.
  supabase.allowOrigin(`http://127.0.0.1:${worker.port}`);
  try {
    const admin = new pg.Client({ connectionString: supabase.databaseUrl });
    await admin.connect();
    try {
      await setWebhookSettings(admin, `http://127.0.0.1:${worker.port}/webhooks/db`, devVars.DB_WEBHOOK_SECRET!);
    } finally {
      await admin.end();
    }
  } catch (error) {
    await worker.stop();
    await supabase.destroy();
    throw error;
  }
  return {
    supabase,
    worker,
    vars,
    stop: async () => {
      await worker.stop();
      await supabase.destroy();
    },
  };
}
