/** Reads `public.profiles`: who users are and what they may do. */
import type { SupabaseClient } from '@supabase/supabase-js';
import { unwrap } from './client.ts';
import type { Profile } from './shapes.ts';

export type { Profile };

const COLUMNS = 'id,email,display_name,role';

/** The profile of `userId`, or null when there is none. */
export async function findProfile(db: SupabaseClient, userId: string): Promise<Profile | null> {
  return unwrap(await db.from('profiles').select(COLUMNS).eq('id', userId).maybeSingle<Profile>(), 'reading a profile');
}

/** Every profile, by display name (who can receive email). */
export async function listProfiles(db: SupabaseClient): Promise<Profile[]> {
  return unwrap(await db.from('profiles').select(COLUMNS).order('display_name').order('id').returns<Profile[]>(), 'listing profiles');
}

/** The ids among `ids` that have a profile. */
export async function existingProfileIds(db: SupabaseClient, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = unwrap(await db.from('profiles').select('id').in('id', ids).returns<Array<{ id: string }>>(), 'checking recipients');
  return new Set(rows.map((row) => row.id));
}

/** Display names by profile id, for `sender_name`. */
export async function displayNames(db: SupabaseClient, ids: string[]): Promise<Map<string, string>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const rows = unwrap(
    await db.from('profiles').select('id,display_name').in('id', unique).returns<Array<{ id: string; display_name: string }>>(),
    'reading sender names',
  );
  return new Map(rows.map((row) => [row.id, row.display_name]));
}
