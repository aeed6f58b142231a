/**
 * The Worker's Supabase client. It uses the service role key: every route verifies the caller's JWT
 * itself, reads the caller's role from `profiles`, and scopes each query to the caller explicitly
 * (see docs/architecture.md, "Data access"). Row level security stays on as the second line for browsers that use
 * supabase-js directly.
 */
import { createClient, type PostgrestError, type SupabaseClient } from '@supabase/supabase-js';
import type { Config } from '../config.ts';
import { oncePer } from '../platform/once-per.ts';

/** A service-role client for these settings (one per configuration). */
export const serviceClient = oncePer(
  (config: Config): SupabaseClient =>
    createClient(config.supabase.url, config.supabase.serviceRoleKey, {
      // A Worker has no session to keep: every request brings its own identity.
      auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      // Fail fast instead of waiting 1 + 2 + 4 s: callers retry (the browser) or redeliver (the cron).
      db: { retry: false },
    }),
);

/** The database did not answer (no PostgREST error code): worth retrying shortly. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
}

/**
 * The data of a supabase-js result, or an error: a DatabaseUnavailableError when the database
 * cannot be reached, otherwise an Error that the app logs and answers with a generic 500.
 */
export function unwrap<T>(result: { data: T | null; error: PostgrestError | null }, what: string): T {
  if (!result.error) return result.data as T;
  if (!result.error.code) {
    throw new DatabaseUnavailableError(`The database cannot be reached (${what}); try again shortly`, { cause: result.error });
  }
  throw new Error(`${what} failed: ${result.error.code} ${result.error.message}`);
}
