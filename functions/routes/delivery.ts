/**
 * `GET /api/delivery` (admins): how the outbox is doing. Undelivered entries and the age of the
 * oldest, failed entries with their reasons (the 50 newest), and the last redelivery cron run.
 * docs/observer.md says how to replay a failed entry.
 */
import { Hono } from 'hono';
import { requireAdmin, requireUser } from '../auth/middleware.ts';
import { serviceClient } from '../data/client.ts';
import { deliveryStatus } from '../data/outbox.ts';
import type { AppEnv } from '../env.ts';
import { withConfig } from '../http/with-config.ts';

/** Failed entries listed at most; `failed_count` counts them all. */
export const FAILED_LISTED = 50;

export const delivery = new Hono<AppEnv>().use(withConfig, requireUser, requireAdmin).get('/', async (c) => {
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
