/** Reads and writes `public.announcements` with supabase-js for /api/announcements. */
import type { SupabaseClient } from '@supabase/supabase-js';
import { unwrap } from './client.ts';
import type { Announcement } from './shapes.ts';

export type { Announcement };

const COLUMNS = 'id,sender_id,title,body,created_at';

/** Inserts an announcement; the outbox broadcasts it. */
export async function insertAnnouncement(
  db: SupabaseClient,
  announcement: { senderId: string; title: string; body: string },
): Promise<Announcement> {
  return unwrap(
    await db
      .from('announcements')
      .insert({ sender_id: announcement.senderId, title: announcement.title, body: announcement.body })
      .select(COLUMNS)
      .single<Announcement>(),
    'inserting an announcement',
  );
}

/** The newest announcements, newest first, optionally only those newer than `after`. */
export async function listAnnouncements(db: SupabaseClient, page: { after?: string | undefined; limit: number }): Promise<Announcement[]> {
  const all = db.from('announcements').select(COLUMNS);
  return unwrap(
    await (page.after ? all.gt('created_at', page.after) : all)
      .order('created_at', { ascending: false })
      .order('id', { ascending: false })
      .limit(page.limit)
      .returns<Announcement[]>(),
    'listing announcements',
  );
}
