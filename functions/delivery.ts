/**
 * Delivery: turning `emails` row changes into broadcasts, once per change, and recording it.
 * The webhook receiver calls {@link deliverChange}; the redelivery cron calls {@link redeliverUndelivered}.
 */
import type { BroadcastMessage } from './broadcasting/events.ts';
import { emailModelEvents, type EmailRow } from './broadcasting/model-events.ts';
import type { DeliveryStore } from './data/emails.ts';
import { createLogger, type Logger } from './log.ts';
import type { WebhookPayload } from './webhooks/payload.ts';

export interface DeliveryDeps {
  store: DeliveryStore;
  publish: (message: BroadcastMessage) => Promise<void>;
  now?: () => Date;
  log?: Logger;
}

/** Publishing failed: the change is not delivered (the cron will retry inserts). */
export class PublishFailed extends Error {
  override name = 'PublishFailed';
}

export type DeliveryResult =
  | { status: 'published'; event: string; recorded: boolean }
  | { status: 'already_delivered' | 'gone'; event: null };

const defaultLog = createLogger('info', { component: 'delivery' });

/** Publishes an inserted row's `email.received` and records it; false when publishing failed. */
async function publishReceived(row: EmailRow, senderName: string, deps: DeliveryDeps): Promise<{ recorded: boolean }> {
  const now = deps.now ?? (() => new Date());
  try {
    await deps.publish(emailModelEvents.created(row, senderName));
  } catch (error) {
    await deps.store.recordAttempt(row, false, now()).catch(() => {});
    throw new PublishFailed(`Publishing email.received for ${row.id} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  try {
    await deps.store.recordAttempt(row, true, now());
    return { recorded: true };
  } catch (error) {
    // Published but not recorded: the cron will publish it again, and clients de-duplicate by id.
    (deps.log ?? defaultLog).warn('delivery not recorded', { email_id: row.id, error: String(error) });
    return { recorded: false };
  }
}

/**
 * Broadcasts what a row change means: inserts → `email.received` (once: a row already delivered is
 * not published again), updates → `email.updated`, deletes → `email.deleted`.
 * @throws PublishFailed when the broadcaster refused; nothing is recorded as delivered then.
 */
export async function deliverChange(change: WebhookPayload, deps: DeliveryDeps): Promise<DeliveryResult> {
  switch (change.type) {
    case 'INSERT': {
      // The payload is a snapshot from insert time; the row's delivery state now is what counts.
      const found = await deps.store.findEmail(change.record.id);
      if (!found) return { status: 'gone', event: null };
      const { sender_name, ...row } = found;
      if (row.delivered_at) return { status: 'already_delivered', event: null };
      const { recorded } = await publishReceived(row, sender_name, deps);
      return { status: 'published', event: 'email.received', recorded };
    }
    case 'UPDATE':
      await publishOrFail(emailModelEvents.updated(change.record), change.record.id, deps);
      return { status: 'published', event: 'email.updated', recorded: false };
    case 'DELETE':
      await publishOrFail(emailModelEvents.deleted(change.old_record), change.old_record.id, deps);
      return { status: 'published', event: 'email.deleted', recorded: false };
  }
}

async function publishOrFail(message: BroadcastMessage, id: string, deps: DeliveryDeps): Promise<void> {
  try {
    await deps.publish(message);
  } catch (error) {
    throw new PublishFailed(`Publishing ${message.event.name} for ${id} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/**
 * Publishes rows still undelivered `graceSeconds` after insert, oldest first, at most `batch` of
 * them, then records them in one write per attempt count (not one per row: a Worker invocation has
 * a subrequest budget). Stops at the first publishing failure (the broadcaster is likely down); the
 * next run retries.
 */
export async function redeliverUndelivered(
  deps: DeliveryDeps & { graceSeconds: number; batch: number },
): Promise<{ published: number; failed: number; remaining: boolean }> {
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? defaultLog;
  const rows = await deps.store.listUndelivered(new Date(now().getTime() - deps.graceSeconds * 1000), deps.batch);
  const names = await deps.store.senderNames(rows.map((row) => row.sender_id));
  const published: EmailRow[] = [];
  let failed = 0;
  for (const row of rows) {
    try {
      await deps.publish(emailModelEvents.created(row, names.get(row.sender_id) ?? ''));
      published.push(row);
    } catch (error) {
      log.error('redelivery failed', { email_id: row.id, error: error instanceof Error ? error.message : String(error) });
      await deps.store.recordAttempt(row, false, now()).catch(() => {});
      failed = 1;
      break;
    }
  }
  try {
    await deps.store.recordDeliveries(published, now());
  } catch (error) {
    // Published but not recorded: the next run publishes them again, and clients de-duplicate by id.
    log.warn('deliveries not recorded', { count: published.length, error: String(error) });
  }
  return { published: published.length, failed, remaining: failed > 0 || rows.length === deps.batch };
}
