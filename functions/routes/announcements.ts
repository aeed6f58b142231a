/**
 * `/api/announcements`: post one (admins), list the newest (any signed-in user, for the page's
 * catch-up after a reconnect). Nothing is broadcast here: the outbox does it for every insert into
 * `public.announcements`, whatever its source.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { requireAdmin, requireUser } from '../auth/middleware.ts';
import { characters, TextLimits } from '../broadcast/events.ts';
import { insertAnnouncement, listAnnouncements } from '../data/announcements.ts';
import { serviceClient } from '../data/client.ts';
import type { AppEnv } from '../env.ts';
import { limitBody } from '../http/body-limit.ts';
import { cursor, hasNoNul, nulMessage, pageLimit, validate } from '../http/validation.ts';
import { withConfig } from '../http/with-config.ts';

/** Limits match the database's checks, counted as it counts (characters, not UTF-16 units). */
export const MAX_TITLE = TextLimits.announcementTitle;
export const MAX_ANNOUNCEMENT_BODY = TextLimits.announcementBody;

const newAnnouncement = z.object({
  title: z
    .string({ error: 'title must be text' })
    .trim()
    .min(1, { error: 'title must not be empty' })
    .refine((value) => characters(value) <= MAX_TITLE, { error: `title must be at most ${MAX_TITLE} characters` })
    .refine(hasNoNul, { error: nulMessage('title') }),
  body: z
    .string({ error: 'body must be text' })
    .trim()
    .refine((value) => characters(value) <= MAX_ANNOUNCEMENT_BODY, { error: `body must be at most ${MAX_ANNOUNCEMENT_BODY} characters` })
    .refine(hasNoNul, { error: nulMessage('body') }),
});

const listQuery = z.object({
  after: cursor.optional(),
  limit: pageLimit(50, 10),
});

export const announcements = new Hono<AppEnv>()
  .use(withConfig, requireUser)
  .post('/', limitBody(16 * 1024), validate('json', newAnnouncement), requireAdmin, async (c) => {
    const { title, body } = c.req.valid('json');
    const announcement = await insertAnnouncement(serviceClient(c.get('config')), { senderId: c.get('profile').id, title, body });
    return c.json({ announcement }, 201);
  })
  .get('/', validate('query', listQuery), async (c) => {
    const { after, limit } = c.req.valid('query');
    return c.json({ announcements: await listAnnouncements(serviceClient(c.get('config')), { after, limit }) });
  });
