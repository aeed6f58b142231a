/**
 * `GET /api/delivery` (admins): how the outbox is doing. Undelivered entries and the age of the
 * oldest, failed entries with their reasons (the 50 newest), and the last redelivery cron run.
 * `POST /api/delivery/replay` queues failed entries again, all or none: ids it cannot replay get a
 * 422 that names them (docs/observer.md has the SQL way too).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { requireAdmin, requireUser } from '../auth/middleware.ts';
import { serviceClient } from '../data/client.ts';
import { deliveryStatus, replayEntries } from '../data/outbox.ts';
import type { AppEnv } from '../env.ts';
import { limitBody } from '../http/body-limit.ts';
import { validate } from '../http/validation.ts';
import { withConfig } from '../http/with-config.ts';

/** Failed entries listed at most; `failed_count` counts them all. */
export const FAILED_LISTED = 50;

const replayBody = z.object({
  ids: z
    .array(z.number({ error: 'each id must be an outbox entry id (a number)' }).int().positive(), {
      error: 'ids must be an array of outbox entry ids',
    })
    .min(1, { error: 'name at least one entry' })
    .max(FAILED_LISTED, { error: `at most ${FAILED_LISTED} entries per request` }),
});

export const delivery = new Hono<AppEnv>()
  .use(withConfig, requireUser, requireAdmin)
  .post('/replay', limitBody(4096), validate('json', replayBody), async (c) => {
    const replayed = await replayEntries(serviceClient(c.get('config')), c.req.valid('json').ids);
    return c.json({ replayed });
  })
  .get('/', async (c) => {
    const status = await deliveryStatus(serviceClient(c.get('config')), FAILED_LISTED);
    const oldest = status.oldest_undelivered_at;
    return c.json({
      undelivered: status.undelivered,
      oldest_undelivered_at: oldest,
      oldest_undelivered_age_seconds: oldest === null ? null : Math.max(0, Math.round((Date.now() - Date.parse(oldest)) / 1000)),
      failed_count: status.failed_count,
      failed: status.failed,
      last_cron_run: status.last_cron_run,
    });
  });
