/**
 * Reads and writes `public.emails` with supabase-js for the routes. Delivery reaches the rows
 * through the outbox's claims (./outbox.ts), which read them from the email_announcements view.
 */
import type { SupabaseClient } from '@supabase/supabase-js';
import type { EmailRow } from '../broadcast/model-events.ts';
import { unwrap } from './client.ts';
import { displayNames, existingProfileIds } from './profiles.ts';
import type { Email } from './shapes.ts';

export type { Email };

const ROW_COLUMNS = 'id,sender_id,recipient_id,subject,body,created_at,read_at';

/** Adds `sender_name` to rows (two plain queries rather than an embed, which any PostgREST serves). */
export async function withSenderNames(db: SupabaseClient, rows: EmailRow[]): Promise<Email[]> {
  const names = await displayNames(
    db,
    rows.map((row) => row.sender_id),
  );
  return rows.map((row) => ({
    id: row.id,
    sender_id: row.sender_id,
    sender_name: names.get(row.sender_id) ?? '',
    recipient_id: row.recipient_id,
    subject: row.subject,
    body: row.body,
    created_at: row.created_at,
    read_at: row.read_at,
  }));
}

/** Recipients of an insert that have no profile (deleted since the form listed them): nothing was written. */
export class UnknownRecipientsError extends Error {
  override name = 'UnknownRecipientsError';
  readonly ids: string[];

  constructor(ids: string[], options?: ErrorOptions) {
    super(`Unknown recipient(s): ${ids.join(', ')}`, options);
    this.ids = ids;
  }
}

/** The sender's own profile went away while sending: nothing was written. */
export class SenderRemovedError extends Error {
  override name = 'SenderRemovedError';
}

/**
 * Inserts one email per recipient in a single statement, so either all are written or none.
 * @throws UnknownRecipientsError naming each recipient without a profile, or SenderRemovedError
 * when the sender's profile is gone (both a foreign key violation).
 */
export async function insertEmails(
  db: SupabaseClient,
  email: { senderId: string; recipientIds: string[]; subject: string; body: string },
): Promise<EmailRow[]> {
  const rows = email.recipientIds.map((recipient_id) => ({
    sender_id: email.senderId,
    recipient_id,
    subject: email.subject,
    body: email.body,
  }));
  const result = await db.from('emails').insert(rows).select(ROW_COLUMNS).returns<EmailRow[]>();
  // 23503 foreign_key_violation: an unknown id, or a profile deleted while the insert ran. One
  // statement, so nothing was written. Checking after the fact, not before, costs the usual send no
  // extra query and also covers a recipient deleted while the insert ran.
  if (result.error?.code === '23503') {
    const known = await existingProfileIds(db, email.recipientIds);
    const unknown = email.recipientIds.filter((id) => !known.has(id));
    if (unknown.length > 0) throw new UnknownRecipientsError(unknown, { cause: result.error });
    throw new SenderRemovedError('Your profile was removed while sending; nothing was sent', { cause: result.error });
  }
  return unwrap(result, 'inserting emails');
}

/**
 * A recipient's inbox, newest first (`created_at`, then `id`), optionally only newer than `after`
 * and older than `before`. With `beforeId` the page continues exactly below the email
 * (`before`, `beforeId`): emails inserted in one transaction share `created_at` (it is the
 * transaction's start time), so a timestamp alone would skip the rest of such a group.
 */
export async function listInbox(
  db: SupabaseClient,
  recipientId: string,
  page: { after?: string | undefined; before?: string | undefined; beforeId?: string | undefined; limit: number },
): Promise<EmailRow[]> {
  const inbox = () => {
    const all = db.from('emails').select(ROW_COLUMNS).eq('recipient_id', recipientId);
    return page.after ? all.gt('created_at', page.after) : all;
  };
  const newestFirst = (filter: (q: ReturnType<typeof inbox>) => ReturnType<typeof inbox>, limit: number) =>
    filter(inbox()).order('created_at', { ascending: false }).order('id', { ascending: false }).limit(limit).returns<EmailRow[]>();
  const { before, beforeId } = page;
  // Two plain queries rather than an `or=(...)` filter built from the cursor's text.
  const sameTime =
    before && beforeId
      ? unwrap(await newestFirst((q) => q.eq('created_at', before).lt('id', beforeId), page.limit), 'listing the inbox')
      : [];
  if (sameTime.length >= page.limit) return sameTime;
  const rest = unwrap(
    await newestFirst((q) => (before ? q.lt('created_at', before) : q), page.limit - sameTime.length),
    'listing the inbox',
  );
  return [...sameTime, ...rest];
}

/**
 * How many of the recipient's emails are unread: one count through the partial index
 * `emails_unread_by_recipient` (an index-only scan, however large the inbox).
 */
export async function unreadCount(db: SupabaseClient, recipientId: string): Promise<number> {
  const result = await db.from('emails').select('id', { count: 'exact', head: true }).eq('recipient_id', recipientId).is('read_at', null);
  unwrap(result, 'counting unread emails');
  return result.count ?? 0;
}

/**
 * Marks every unread email of the recipient created at or before `upTo` read, at `now`, in one
 * UPDATE statement (so the model observer sees one statement). Says how many it marked.
 */
export async function markAllRead(db: SupabaseClient, recipientId: string, upTo: string, now: Date): Promise<number> {
  const result = await db
    .from('emails')
    .update({ read_at: now.toISOString() }, { count: 'exact' })
    .eq('recipient_id', recipientId)
    .is('read_at', null)
    .lte('created_at', upTo);
  unwrap(result, 'marking emails read');
  return result.count ?? 0;
}

/**
 * Undoes {@link markAllRead}: the emails it marked all carry its `read_at`, to the microsecond, so
 * one UPDATE finds exactly them (an email opened since keeps its own later time). Says how many.
 */
export async function markUnreadAt(db: SupabaseClient, recipientId: string, readAt: string): Promise<number> {
  const result = await db
    .from('emails')
    .update({ read_at: null }, { count: 'exact' })
    .eq('recipient_id', recipientId)
    .eq('read_at', readAt);
  unwrap(result, 'marking emails unread');
  return result.count ?? 0;
}

/** Marks the recipient's email read (keeping the first read time); null when it is not theirs or does not exist. */
export async function markRead(db: SupabaseClient, recipientId: string, id: string, now: Date): Promise<EmailRow | null> {
  const updated = unwrap(
    await db
      .from('emails')
      .update({ read_at: now.toISOString() })
      .eq('id', id)
      .eq('recipient_id', recipientId)
      .is('read_at', null)
      .select(ROW_COLUMNS)
      .returns<EmailRow[]>(),
    'marking an email read',
  );
  if (updated[0]) return updated[0];
  // Nothing updated: already read, or not this recipient's email.
  return unwrap(
    await db.from('emails').select(ROW_COLUMNS).eq('id', id).eq('recipient_id', recipientId).maybeSingle<EmailRow>(),
    'reading an email',
  );
}
