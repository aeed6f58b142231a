/** What a redelivery run publishes: the oldest pending outbox entries past the grace period, a batch at a time. */
import { type DeliveryDeps, defaultLog, deliverEntries } from '../broadcast/delivery.ts';
import type { OutboxStore, RedeliveryCounts } from '../data/outbox.ts';
import { errorMessage } from '../log.ts';

export type { RedeliveryCounts };

/** A run stopped by an error (the database went away mid-run), with what it did before. */
export class RedeliveryStopped extends Error {
  override name = 'RedeliveryStopped';
  readonly counts: RedeliveryCounts;

  constructor(counts: RedeliveryCounts, cause: unknown) {
    super(errorMessage(cause), { cause });
    this.counts = counts;
  }
}

/**
 * Claims entries still pending `graceSeconds` after their change, oldest first, `batch` at a time,
 * for up to `rounds` batches; publishes each batch in one batch publish and settles it in one
 * write. Stops early when a batch is not full (the backlog is drained) or publishing fails (the
 * broadcaster is likely down: the entry it stopped at keeps the attempt its claim counted, the
 * ones after it get theirs back, the next run retries).
 */
export async function redeliverUndelivered(
  deps: DeliveryDeps & { outbox: OutboxStore; graceSeconds: number; batch: number; rounds: number; maxAttempts: number },
): Promise<RedeliveryCounts> {
  const log = deps.log ?? defaultLog;
  const counts: RedeliveryCounts = { claimed: 0, published: 0, skipped: 0, failed: 0, retried: 0, remaining: false };
  try {
    await runRounds(deps, counts, log);
  } catch (error) {
    // Earlier rounds' work is real: the run's record must not say it published nothing.
    throw new RedeliveryStopped({ ...counts, remaining: true }, error);
  }
  return counts;
}

async function runRounds(
  deps: DeliveryDeps & { outbox: OutboxStore; graceSeconds: number; batch: number; rounds: number; maxAttempts: number },
  counts: RedeliveryCounts,
  log: NonNullable<DeliveryDeps['log']>,
): Promise<void> {
  for (let round = 0; round < deps.rounds; round++) {
    const entries = await deps.outbox.claimDue(deps.graceSeconds, deps.batch, deps.maxAttempts);
    counts.claimed += entries.length;
    if (entries.length === 0) {
      counts.remaining = false;
      break;
    }
    const outcome = await deliverEntries(entries, deps);
    const settled = await deps.outbox.settle(outcome.settlement, deps.maxAttempts);
    counts.published += outcome.published;
    counts.skipped += outcome.skipped;
    counts.failed += settled.failed;
    counts.retried += settled.retried;
    if (outcome.failure) {
      log.error('redelivery failed', { from_outbox_id: outcome.failure.entryId, error: errorMessage(outcome.failure.error) });
      counts.remaining = true;
      break;
    }
    counts.remaining = entries.length === deps.batch;
    if (!counts.remaining) break;
  }
}
