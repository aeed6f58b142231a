import { readDevVars } from '../../support/dev-vars.ts';
import { seedUsers, startTestSupabase, type TestSupabase } from '../../support/local-supabase.ts';
import { freePort } from '../../support/processes.ts';
import { startWorkerd, type BenchServer } from './servers.ts';

export { seedUsers };

/** The local Supabase and the Worker in workerd (no proxy), wired together as `npm run dev` wires them. */
export interface BenchStack {
  supabase: TestSupabase;
  server: BenchServer;
  stop: () => Promise<void>;
}

/** Starts a local Supabase whose database webhook points at the Worker in workerd, itself pointed at that Supabase. */
export async function startBenchStack(): Promise<BenchStack> {
  const port = await freePort();
  const supabase = await startTestSupabase({ webhookUrl: `http://127.0.0.1:${port}/webhooks/db`, webhookSecret: readDevVars().DB_WEBHOOK_SECRET! });
  let server: BenchServer;
  try {
    server = await startWorkerd({ port, vars: { SUPABASE_URL: supabase.apiUrl } });
  } catch (error) {
    await supabase.destroy();
    throw error;
  }
  return {
    supabase,
    server,
    stop: async () => {
      await server.stop();
      await supabase.destroy();
    },
  };
}

/** A real user access token from the local Supabase's /auth/v1 (password grant). */
export async function signIn(supabase: TestSupabase, user: { email: string; password: string }): Promise<string> {
  const response = await fetch(`${supabase.apiUrl}/auth/v1/token?grant_type=password`, {
    method: 'POST',
    headers: { apikey: supabase.anonKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: user.email, password: user.password }),
  });
  if (!response.ok) throw new Error(`sign-in failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}
