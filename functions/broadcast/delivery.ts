/**
 * Delivery: turning `emails` row changes into broadcasts, once per change, and recording it.
 * The database webhook calls {@link deliverChange}; the redelivery cron (../redeliver/) shares {@link publishAndRecord}.
 */

import type { AnnouncedEmail, DeliveryStore } from '../data/emails.ts';
import { createLogger, type Logger } from '../log.ts';
import type { WebhookPayload } from '../observe/payload.ts';
import { BatchPublishError, publishEach } from './broadcaster.ts';
import type { BroadcastMessage } from './events.ts';
import { type EmailRow, emailModelEvents } from './model-events.ts';

export interface DeliveryDeps {
  store: DeliveryStore;
  publish: (message: BroadcastMessage) => Promise<void>;
  /**
   * Publishes several messages in order in as few calls as the broadcaster allows, throwing a
   * BatchPublishError that counts what went out. Without it, messages go one `publish` at a time.
   */
  publishBatch?: (messages: BroadcastMessage[]) => Promise<void>;
  /**
   * A one-row insert whose payload carries the sender's name, is undelivered, and was created less
   * than this many ms ago is published straight from the payload, before any database read; 0 or
   * unset: always read the row first. Keep it under the redelivery grace period: the cron never
   * touches rows that young, so the webhook is the only publisher of such a row.
   */
  publishFromPayloadWithinMs?: number;
  /**
   * Records a row published from its payload after the answer, together with other webhooks'
   * rows (see DeliveryRecorder); without it, the webhook records the row before answering.
   */
  recordLater?: (row: EmailRow) => void;
  now?: () => Date;
  log?: Logger;
}

/** Publishing failed: the change is not delivered (the cron will retry inserts). */
export class PublishFailed extends Error {
  override name = 'PublishFailed';
}

/** What a one-row change did; `recorded: 'later'` when the recording was queued (DeliveryDeps.recordLater). */
export type DeliveryResult =
  | { status: 'published'; event: string; recorded: boolean | 'later' }
  | { status: 'already_delivered' | 'gone'; event: null };

/** What an insert of several rows did: how many were published, found delivered already, or gone, and how many were recorded. */
export interface InsertsDeliveryResult {
  status: 'published';
  event: 'email.received';
  published: number;
  already_delivered: number;
  gone: number;
  recorded: number;
}

export const defaultLog = createLogger('info', { component: 'delivery' });

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Publishes an inserted row's `email.received` and records it, or queues the recording with `recordLater`. */
async function publishReceived(
  row: EmailRow,
  senderName: string,
  deps: DeliveryDeps,
  recordLater?: (row: EmailRow) => void,
): Promise<{ recorded: boolean | 'later' }> {
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? defaultLog;
  try {
    await deps.publish(emailModelEvents.created(row, senderName));
  } catch (error) {
    await deps.store.recordAttempt(row, false, now()).catch(() => {});
    throw new PublishFailed(`Publishing email.received for ${row.id} failed: ${describeError(error)}`, { cause: error });
  }
  if (recordLater) {
    recordLater(row);
    return { recorded: 'later' };
  }
  try {
    const recorded = await deps.store.recordAttempt(row, true, now());
    // Delivered by someone else meanwhile (a repeated webhook) or deleted: clients de-duplicate by id.
    if (!recorded) log.info('published an email already delivered or deleted', { email_id: row.id });
    return { recorded };
  } catch (error) {
    // Published but not recorded: the cron will publish it again, and clients de-duplicate by id.
    log.warn('delivery not recorded', { email_id: row.id, error: String(error) });
    return { recorded: false };
  }
}

/** Whether a one-row insert may be published from its payload (see {@link DeliveryDeps.publishFromPayloadWithinMs}). */
function publishableFromPayload(record: EmailRow, senderName: string | undefined, deps: DeliveryDeps): senderName is string {
  const within = deps.publishFromPayloadWithinMs ?? 0;
  if (within <= 0 || senderName === undefined || record.delivered_at) return false;
  const age = (deps.now ?? (() => new Date()))().getTime() - Date.parse(record.created_at);
  return age < within;
}

/** Messages in order through `publishBatch`, or one `publish` at a time without it. */
function publishAll(messages: BroadcastMessage[], deps: DeliveryDeps): Promise<void> {
  if (messages.length === 0) return Promise.resolve();
  return deps.publishBatch ? deps.publishBatch(messages) : publishEach(messages, deps.publish);
}

/** How many of a batch went out before `error` (none unless the broadcaster said otherwise). */
function publishedBefore(error: unknown): number {
  return error instanceof BatchPublishError ? error.published : 0;
}

/**
 * Broadcasts what a row change means: inserts → `email.received` (once: a row already delivered is
 * not published again), updates → `email.updated`, deletes → `email.deleted`.
 * @throws PublishFailed when the broadcaster refused; nothing is recorded as delivered then.
 */
export async function deliverChange(change: WebhookPayload, deps: DeliveryDeps): Promise<DeliveryResult | InsertsDeliveryResult> {
  switch (change.type) {
    case 'INSERT': {
      if (change.record_ids) return deliverInserted(change.record_ids, deps);
      const record = change.record!;
      const senderName = change.sender?.display_name;
      if (publishableFromPayload(record, senderName, deps)) {
        const { recorded } = await publishReceived(record, senderName, deps, deps.recordLater);
        return { status: 'published', event: 'email.received', recorded };
      }
      // An older payload (a repeated or late webhook): the row's delivery state now is what counts.
      const found = await deps.store.findEmail(record.id);
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

/** What {@link publishAndRecord} did: how many of the rows went out and were recorded, and why it stopped. */
export interface BatchOutcome {
  published: number;
  recorded: number;
  /** Why part of the batch did not go out; null when all of it did. */
  failure: { error: unknown } | null;
}

/**
 * Publishes `email.received` for `rows` in order in one batch, records what went out in as few
 * writes as possible, and counts a failed attempt against the first row that did not go out.
 * Shared by multi-row webhooks and the redelivery cron.
 */
export async function publishAndRecord(rows: AnnouncedEmail[], deps: DeliveryDeps): Promise<BatchOutcome> {
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? defaultLog;
  let published = rows.length;
  let failure: BatchOutcome['failure'] = null;
  try {
    await publishAll(
      rows.map(({ sender_name, ...row }) => emailModelEvents.created(row, sender_name)),
      deps,
    );
  } catch (error) {
    published = publishedBefore(error);
    failure = { error };
    await deps.store.recordAttempt(rows[published]!, false, now()).catch(() => {});
  }
  let recorded = 0;
  try {
    recorded = await deps.store.recordDeliveries(rows.slice(0, published), now());
  } catch (error) {
    // Published but not recorded: the cron publishes them again, and clients de-duplicate by id.
    log.warn('deliveries not recorded', { count: published, error: String(error) });
  }
  return { published, recorded, failure };
}

/**
 * The rows of a multi-row insert: one read for all of them, one batch publish of those not
 * delivered yet (by created_at, then id), one write recording what went out.
 * @throws PublishFailed when the broadcaster refused part of the batch; what went out before is recorded.
 */
async function deliverInserted(ids: string[], deps: DeliveryDeps): Promise<InsertsDeliveryResult> {
  const unique = [...new Set(ids)];
  const found = await deps.store.findEmails(unique);
  const undelivered = found.filter((row) => !row.delivered_at);
  const { published, recorded, failure } = await publishAndRecord(undelivered, deps);
  if (failure) {
    throw new PublishFailed(
      `Publishing email.received failed for ${undelivered.length - published} of ${undelivered.length} emails (from ${undelivered[published]!.id}): ${describeError(failure.error)}`,
      { cause: failure.error },
    );
  }
  return {
    status: 'published',
    event: 'email.received',
    published,
    already_delivered: found.length - undelivered.length,
    gone: unique.length - found.length,
    recorded,
  };
}

async function publishOrFail(message: BroadcastMessage, id: string, deps: DeliveryDeps): Promise<void> {
  try {
    await deps.publish(message);
  } catch (error) {
    throw new PublishFailed(`Publishing ${message.event.name} for ${id} failed: ${describeError(error)}`, { cause: error });
  }
}
