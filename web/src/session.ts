// Sign-in with Supabase Auth. supabase-js keeps the session in localStorage and refreshes the
// access token before it expires, so a reload keeps the user signed in.
import { createClient, type Session, type SupabaseClient } from '@supabase/supabase-js';
import type { ClientConfig } from './api.ts';

/** The signed-in session, with the access token read fresh on every use. */
export interface Auth {
  /** The current session, or null when signed out. */
  current(): Session | null;
  /** The current access token (refreshed by supabase-js), or null when signed out. */
  token(): string | null;
  signIn(email: string, password: string): Promise<Session>;
  signOut(): Promise<void>;
  /** Called when the session ends in this tab or another one (sign-out, refresh failure). */
  onSignedOut(listener: () => void): void;
}

/** Creates the Supabase client from /api/config and restores a saved session, if any. */
export async function createAuth(config: ClientConfig): Promise<Auth> {
  const supabase: SupabaseClient = createClient(config.supabase.url, config.supabase.anonKey, {
    auth: { persistSession: true, autoRefreshToken: true, detectSessionInUrl: false, storageKey: 'tidings.auth' },
  });
  let session: Session | null = (await supabase.auth.getSession()).data.session;
  const signedOutListeners: Array<() => void> = [];
  supabase.auth.onAuthStateChange((event, next) => {
    const wasSignedIn = session !== null;
    session = next;
    if (wasSignedIn && (event === 'SIGNED_OUT' || next === null)) {
      for (const listener of signedOutListeners) listener();
    }
  });
  return {
    current: () => session,
    token: () => session?.access_token ?? null,
    async signIn(email, password) {
      const { data, error } = await supabase.auth.signInWithPassword({ email, password });
      if (error || !data.session) throw new Error(error?.message || 'Sign-in failed.');
      session = data.session;
      return data.session;
    },
    async signOut() {
      // `local` ends only this browser's session: the user's other devices stay signed in.
      await supabase.auth.signOut({ scope: 'local' });
      session = null;
    },
    onSignedOut: (listener) => void signedOutListeners.push(listener),
  };
}
