import type { TestSupabase } from '../node/local-supabase.ts';
import { type Stack, startStackWith } from '../node/stack.ts';
import { type BenchServer, startWorkerd } from './servers.ts';

/** The local Supabase and the Worker in workerd (no proxy), wired together as `npm run dev` wires them. */
export type BenchStack = Stack<BenchServer>;

/** Starts a local Supabase whose database webhook points at the Worker in workerd, itself pointed at that Supabase. */
export function startBenchStack(): Promise<BenchStack> {
  return startStackWith((port, vars) => startWorkerd({ port, vars }));
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
