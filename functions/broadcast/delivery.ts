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
import { BatchPublishError, publishEach, retryableStatus } from './broadcaster.ts';
import type { BroadcastMessage } from './events.ts';
import { MAX_ROWS_UPDATED_TOGETHER, ModelEventError, type ModelRegistry, type UpdatesTogether } from './model.ts';

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
 * (a 400 or 413, from the service or from the checks made before sending; see EVENT_REFUSED_STATUSES).
 */
export function retryable(error: unknown): boolean {
  // A BroadcastRefused's status (null: no answer), a PublishError's, or none (an exception: retried).
  const cause = error instanceof BatchPublishError ? error.cause : error;
  const status = (cause as { status?: unknown } | null)?.status;
  return retryableStatus(typeof status === 'number' ? status : null);
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

/** Entries whose messages go out together: one entry, or several updates broadcast together. */
interface Plan {
  entries: OutboxEntry[];
  messages: BroadcastMessage[];
}

/**
 * The entries from `start` that a model broadcasts together: consecutive UPDATEs of one table with
 * the same changed columns (a mass update's), at most MAX_ROWS_UPDATED_TOGETHER, when the table's
 * model declares `updatedTogether`; otherwise the entry at `start` alone.
 */
function updateRun(entries: OutboxEntry[], start: number, models: ModelRegistry): OutboxEntry[] {
  const first = entries[start]!;
  if (first.operation !== 'UPDATE' || !models.get(first.table_name)?.updatesTogether) return [first];
  const columns = (entry: OutboxEntry) => (entry.changed_columns ?? []).join(',');
  let end = start + 1;
  while (end < entries.length && end - start < MAX_ROWS_UPDATED_TOGETHER) {
    const next = entries[end]!;
    if (next.operation !== 'UPDATE' || next.table_name !== first.table_name || columns(next) !== columns(first)) break;
    end++;
  }
  return entries.slice(start, end);
}

/**
 * Publishes the claimed entries' events in entry order in one batch. An entry that cannot be built
 * is failed at once and does not hold back the rest; when publishing stops part-way, the entries it
 * stopped at are retried (the attempt their claim counted stands) and the ones after them are
 * released (their attempts given back). Consecutive updates a model broadcasts together
 * (`updatedTogether`) share their messages, and are delivered, retried or released together.
 */
export async function deliverEntries(entries: OutboxEntry[], deps: DeliveryDeps): Promise<DeliveryOutcome> {
  const log = deps.log ?? defaultLog;
  const settlement = emptySettlement();
  const planned: Plan[] = [];
  let skipped = 0;
  const fail = (entry: OutboxEntry, reason: string) => {
    log.warn('outbox entry failed', { outbox_id: entry.id, table: entry.table_name, operation: entry.operation, reason });
    settlement.failed.push({ id: entry.id, reason });
  };
  const plan = (group: OutboxEntry[], messages: BroadcastMessage[]) => {
    if (messages.length > 0) {
      planned.push({ entries: group, messages });
    } else {
      settlement.delivered.push(...group.map((entry) => entry.id));
      skipped += group.length;
    }
  };
  const planAlone = (entry: OutboxEntry) => {
    const messages = messagesOf(entry, deps.models);
    if ('reason' in messages) fail(entry, messages.reason);
    else plan([entry], messages);
  };
  for (let start = 0; start < entries.length; ) {
    const run = updateRun(entries, start, deps.models);
    start += run.length;
    // The rows deleted since publish nothing (their DELETE entries say so).
    const gone = run.filter((entry) => entry.record === null || entry.record === undefined);
    const present = run.filter((entry) => !gone.includes(entry));
    if (present.length < 2) {
      for (const entry of run) planAlone(entry);
      continue;
    }
    plan(gone, []);
    let together: UpdatesTogether;
    try {
      together = deps.models.get(run[0]!.table_name)!.updatesTogether!(
        present.map((entry) => entry.record),
        present[0]!.changed_columns ?? [],
      );
    } catch (error) {
      if (!(error instanceof ModelEventError)) throw error;
      // The rows make no event together (too large, say): each goes on its own.
      for (const entry of present) planAlone(entry);
      continue;
    }
    for (const [index, reason] of together.refused) fail(present[index]!, reason);
    plan(
      present.filter((_, index) => !together.refused.has(index)),
      together.messages,
    );
  }
  let failure: DeliveryOutcome['failure'] = null;
  let published = 0;
  try {
    await publishAll(
      planned.flatMap((plan) => plan.messages),
      deps,
    );
    for (const { entries } of planned) {
      settlement.delivered.push(...entries.map((entry) => entry.id));
      published += entries.length;
    }
  } catch (error) {
    // Entries whose messages all went out are delivered; the ones publishing stopped in are retried.
    let out = publishedBefore(error);
    for (const { entries, messages } of planned) {
      const ids = entries.map((entry) => entry.id);
      if (failure) {
        settlement.released.push(...ids);
      } else if (out >= messages.length) {
        out -= messages.length;
        settlement.delivered.push(...ids);
        published += ids.length;
      } else {
        failure = { error, entryId: ids[0]! };
        // A refusal that would be the same next time (a 4xx: the event itself is wrong) fails the
        // entries now instead of costing every run an attempt until the maximum.
        for (const id of ids) {
          if (retryable(error)) settlement.retry.push({ id, error: errorMessage(error) });
          else settlement.failed.push({ id, reason: `the broadcaster refused it: ${errorMessage(error)}` });
        }
      }
    }
  }
  return { settlement, published, skipped, failed: settlement.failed.length, failure };
}
