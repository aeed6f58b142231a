/**
 * Delivery: turning claimed outbox entries into broadcasts through the declared models, and saying
 * what became of each entry. The webhook receiver (../routes/db-webhook.ts) and the redelivery cron
 * (../redeliver/) both call {@link deliverEntries}, then settle its outcome in the outbox.
 *
 * What is published comes from the database only: a claim returns each entry with its row as the
 * database has it now (a deleted row as the outbox kept it), never anything a webhook body says.
 */
import type { OutboxEntry, Settlement } from '../data/outbox.ts';
import { emptySettlement } from '../data/outbox.ts';
import { createLogger, errorMessage, type Logger } from '../log.ts';
import { BatchPublishError, BroadcastRefused, publishEach } from './broadcaster.ts';
import type { BroadcastMessage } from './events.ts';
import { ModelEventError, type ModelRegistry } from './model.ts';

export interface DeliveryDeps {
  /** The declared models (./model-events.ts has the app's). */
  models: ModelRegistry;
  publish: (message: BroadcastMessage) => Promise<void>;
  /**
   * Publishes several messages in order in as few calls as the broadcaster allows, throwing a
   * BatchPublishError that counts what went out. Without it, messages go one `publish` at a time.
   */
  publishBatch?: (messages: BroadcastMessage[]) => Promise<void>;
  log?: Logger;
}

/** Publishing failed: the entries not published are retried by the cron. */
export class PublishFailed extends Error {
  override name = 'PublishFailed';
}

/** What {@link deliverEntries} did with the entries, and the settlement to record. */
export interface DeliveryOutcome {
  settlement: Settlement;
  /** Entries whose events went out. */
  published: number;
  /** Entries with nothing to publish: the row is gone, or the model declares no event for the change. */
  skipped: number;
  /** Entries whose event cannot be built (see Settlement.failed). */
  failed: number;
  /** Why publishing stopped part-way; null when everything went out. */
  failure: { error: unknown; entryId: number } | null;
}

export const defaultLog = createLogger('info', { component: 'delivery' });

/** Messages in order through `publishBatch`, or one `publish` at a time without it. */
function publishAll(messages: BroadcastMessage[], deps: DeliveryDeps): Promise<void> {
  if (messages.length === 0) return Promise.resolve();
  return deps.publishBatch ? deps.publishBatch(messages) : publishEach(messages, deps.publish);
}

/**
 * Whether publishing may succeed if tried again: yes unless the broadcaster refused the event itself
 * (a 4xx other than 429, from the service or from the checks made before sending).
 */
export function retryable(error: unknown): boolean {
  const cause = error instanceof BatchPublishError ? error.cause : error;
  if (cause instanceof BroadcastRefused) return cause.retryable;
  const status = (cause as { status?: unknown } | null)?.status;
  return !(typeof status === 'number' && status >= 400 && status < 500 && status !== 429);
}

/** How many of a batch went out before `error` (none unless the broadcaster said otherwise). */
function publishedBefore(error: unknown): number {
  return error instanceof BatchPublishError ? error.published : 0;
}

/** The messages an entry broadcasts, or why it never can. */
function messagesOf(entry: OutboxEntry, models: ModelRegistry): BroadcastMessage[] | { reason: string } {
  const model = models.get(entry.table_name);
  if (!model) {
    return { reason: `No model is declared for ${entry.table_name}: add one to functions/broadcast/model-events.ts` };
  }
  // The row was deleted after the change: its DELETE entry says so.
  if (entry.record === null || entry.record === undefined) return [];
  try {
    return model.messagesFor({ operation: entry.operation, record: entry.record, changedColumns: entry.changed_columns ?? [] });
  } catch (error) {
    if (error instanceof ModelEventError) return { reason: error.message };
    throw error;
  }
}

/**
 * Publishes the claimed entries' events in entry order in one batch. An entry that cannot be built
 * is failed at once and does not hold back the rest; when publishing stops part-way, the entry it
 * stopped at is retried (the attempt its claim counted stands) and the ones after it are released
 * (their attempts given back).
 */
export async function deliverEntries(entries: OutboxEntry[], deps: DeliveryDeps): Promise<DeliveryOutcome> {
  const log = deps.log ?? defaultLog;
  const settlement = emptySettlement();
  const planned: Array<{ entry: OutboxEntry; messages: BroadcastMessage[] }> = [];
  let skipped = 0;
  for (const entry of entries) {
    const messages = messagesOf(entry, deps.models);
    if ('reason' in messages) {
      log.warn('outbox entry failed', {
        outbox_id: entry.id,
        table: entry.table_name,
        operation: entry.operation,
        reason: messages.reason,
      });
      settlement.failed.push({ id: entry.id, reason: messages.reason });
    } else if (messages.length === 0) {
      settlement.delivered.push(entry.id);
      skipped++;
    } else {
      planned.push({ entry, messages });
    }
  }
  let failure: DeliveryOutcome['failure'] = null;
  let published = planned.length;
  try {
    await publishAll(
      planned.flatMap((plan) => plan.messages),
      deps,
    );
    settlement.delivered.push(...planned.map((plan) => plan.entry.id));
  } catch (error) {
    // Entries whose messages all went out are delivered; the one publishing stopped in is retried.
    let out = publishedBefore(error);
    published = 0;
    for (const plan of planned) {
      if (failure) {
        settlement.released.push(plan.entry.id);
      } else if (out >= plan.messages.length) {
        out -= plan.messages.length;
        settlement.delivered.push(plan.entry.id);
        published++;
      } else {
        failure = { error, entryId: plan.entry.id };
        // A refusal that would be the same next time (a 4xx: the event itself is wrong) fails the
        // entry now instead of costing every run an attempt until the maximum.
        if (retryable(error)) settlement.retry.push({ id: plan.entry.id, error: errorMessage(error) });
        else settlement.failed.push({ id: plan.entry.id, reason: `the broadcaster refused it: ${errorMessage(error)}` });
      }
    }
  }
  return { settlement, published, skipped, failed: settlement.failed.length, failure };
}
