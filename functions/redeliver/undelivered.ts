/** What a redelivery run publishes: the oldest undelivered rows past the grace period, in one batch. */
import { type DeliveryDeps, defaultLog, describeError, publishAndRecord } from '../broadcast/delivery.ts';

/**
 * Publishes rows still undelivered `graceSeconds` after insert, oldest first, at most `batch` of
 * them, in one batch publish, then records them in one write per attempt count (not one per row:
 * a Worker invocation has a subrequest budget). Stops at the first publishing failure (the
 * broadcaster is likely down), counting an attempt for that row; the next run retries.
 */
export async function redeliverUndelivered(
  deps: DeliveryDeps & { graceSeconds: number; batch: number },
): Promise<{ published: number; failed: number; remaining: boolean }> {
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? defaultLog;
  const rows = await deps.store.listUndelivered(new Date(now().getTime() - deps.graceSeconds * 1000), deps.batch);
  const { published, failure } = await publishAndRecord(rows, deps);
  if (failure) {
    log.error('redelivery failed', {
      unpublished: rows.length - published,
      from_email_id: rows[published]!.id,
      error: describeError(failure.error),
    });
  }
  const failed = failure ? 1 : 0;
  return { published, failed, remaining: failed > 0 || rows.length === deps.batch };
}
