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
 * Starts a local Supabase on free ports whose database webhook points at a Worker under
 * `wrangler dev`, itself pointed back at that Supabase, exactly as `npm run dev` wires them.
 */
export async function startStack(options: { workerVars?: Record<string, string> } = {}): Promise<Stack> {
  const devVars = readDevVars();
  const workerPort = await freePort();
  const supabase = await startTestSupabase({
    webhookUrl: `http://127.0.0.1:${workerPort}/webhooks/db`,
    webhookSecret: devVars.DB_WEBHOOK_SECRET!,
  });
  const vars = {
    ...devVars,
    SUPABASE_URL: supabase.apiUrl,
    PUSHER_PORT: String(workerPort),
    ...options.workerVars,
  };
  let worker: RunningWorker;
  try {
    worker = await startWorker({ port: workerPort, vars });
  } catch (error) {
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
