/**
 * `/api/emails`: send (admins), read one's inbox, mark one email or all of them read (and undo
 * that). Nothing is broadcast here: the database webhook on `public.emails` does it for every
 * change, whatever its source.
 */
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';
import { requireAdmin, requireUser } from '../auth/middleware.ts';
import { characters, MAX_RECIPIENTS, TextLimits } from '../broadcast/events.ts';
import { serviceClient } from '../data/client.ts';
import { insertEmails, listInbox, markAllRead, markRead, markUnreadAt, unreadCount, withSenderNames } from '../data/emails.ts';
import type { AppEnv } from '../env.ts';
import { limitBody } from '../http/body-limit.ts';
import { cursor, hasNoNul, nulMessage, pageLimit, validate } from '../http/validation.ts';
import { withConfig } from '../http/with-config.ts';

/** Limits match the database's checks (subject 1..200 characters, body at most 20,000). */
export const MAX_SUBJECT = TextLimits.subject;
export const MAX_BODY = TextLimits.emailBody;

const newEmail = z.object({
  recipient_ids: z
    .array(z.guid({ error: 'each recipient id must be a UUID' }), { error: 'recipient_ids must be an array of user ids' })
    .min(1, { error: 'name at least one recipient' })
    .max(MAX_RECIPIENTS, { error: `at most ${MAX_RECIPIENTS} recipients per request` })
    .refine((ids) => new Set(ids).size === ids.length, { error: 'each recipient may appear only once' }),
  subject: z
    .string({ error: 'subject must be text' })
    .trim()
    .min(1, { error: 'subject must not be empty' })
    .refine((value) => characters(value) <= MAX_SUBJECT, { error: `subject must be at most ${MAX_SUBJECT} characters` })
    .refine(hasNoNul, { error: nulMessage('subject') }),
  body: z
    .string({ error: 'body must be text' })
    .refine((value) => characters(value) <= MAX_BODY, { error: `body must be at most ${MAX_BODY} characters` })
    .refine(hasNoNul, { error: nulMessage('body') }),
});

const inboxQuery = z
  .object({
    after: cursor.optional(),
    before: cursor.optional(),
    // The id of the last email of the previous page: continues below it when others share its created_at.
    before_id: z.guid({ error: 'before_id must be an email id (a UUID)' }).optional(),
    limit: pageLimit(100, 50),
  })
  .refine((query) => !query.before_id || query.before, {
    error: 'before_id needs before (the created_at of that email)',
    path: ['before_id'],
  });

const markAllReadBody = z.object({
  // The created_at of the newest email the page shows: mail that arrived since stays unread.
  up_to: cursor,
});
const undoMarkAllReadBody = z.object({ read_at: cursor });

export const emails = new Hono<AppEnv>()
  .use(withConfig, requireUser)
  .post(
    '/',
    // Generous for 100 ids and a 20,000-character body (up to 4 bytes a character in JSON).
    limitBody(128 * 1024),
    validate('json', newEmail),
    requireAdmin,
    async (c) => {
      const { recipient_ids, subject, body } = c.req.valid('json');
      const db = serviceClient(c.get('config'));
      const rows = await insertEmails(db, { senderId: c.get('profile').id, recipientIds: recipient_ids, subject, body });
      return c.json({ emails: await withSenderNames(db, rows) }, 201);
    },
  )
  .get('/', validate('query', inboxQuery), async (c) => {
    const { after, before, before_id, limit } = c.req.valid('query');
    const db = serviceClient(c.get('config'));
    const me = c.get('user').id;
    // The unread count comes with every page, so a catch-up after a reconnect corrects it too.
    const [rows, unread] = await Promise.all([listInbox(db, me, { after, before, beforeId: before_id, limit }), unreadCount(db, me)]);
    return c.json({ emails: await withSenderNames(db, rows), unread_count: unread });
  })
  .post('/mark-all-read', limitBody(1024), validate('json', markAllReadBody), async (c) => {
    const { up_to } = c.req.valid('json');
    const readAt = new Date();
    const db = serviceClient(c.get('config'));
    const me = c.get('user').id;
    const marked = await markAllRead(db, me, up_to, readAt);
    // Counted after the UPDATE: the page's live events for these emails may reach it before this
    // answer, so a count moved by `marked` would count them twice.
    return c.json({ marked, read_at: readAt.toISOString(), unread_count: await unreadCount(db, me) });
  })
  .post('/mark-all-read/undo', limitBody(1024), validate('json', undoMarkAllReadBody), async (c) => {
    const { read_at } = c.req.valid('json');
    const db = serviceClient(c.get('config'));
    const me = c.get('user').id;
    const unmarked = await markUnreadAt(db, me, new Date(read_at).toISOString());
    return c.json({ unmarked, unread_count: await unreadCount(db, me) });
  })
  .patch('/:id/read', validate('param', z.object({ id: z.guid({ error: 'the email id must be a UUID' }) })), async (c) => {
    const { id } = c.req.valid('param');
    const db = serviceClient(c.get('config'));
    const row = await markRead(db, c.get('user').id, id, new Date());
    if (!row) throw new HTTPException(404, { message: `No email ${id} in your inbox` });
    const [email] = await withSenderNames(db, [row]);
    return c.json({ email });
  });
