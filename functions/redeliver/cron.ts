/**
 * The Cron Trigger: publishes outbox entries that the database webhook did not deliver, because
 * pg_net sends each request at most once and never retries. Together with the webhook this makes
 * every change arrive at least once (clients de-duplicate by id). Each run writes one log line
 * with its counts and one row in tidings.cron_runs (GET /api/delivery shows the last), and prunes
 * delivered entries older than OUTBOX_RETENTION_HOURS.
 */
import { broadcast, broadcastBatch } from '../broadcast/broadcast.ts';
import { observedModels } from '../broadcast/model-events.ts';
import { loadConfig } from '../config.ts';
import { serviceClient } from '../data/client.ts';
import { recordCronRun, supabaseOutbox } from '../data/outbox.ts';
import { domainErrorResponse } from '../http/errors.ts';
import { createLogger, errorMessage } from '../log.ts';
import { type RedeliveryCounts, RedeliveryStopped, redeliverUndelivered } from './undelivered.ts';

/** What one run did (also written to the log as one JSON line). */
export type RedeliveryRun = RedeliveryCounts & { pruned: number; ms: number };

/**
 * One redelivery run (see the module comment). Never throws: a failed run is logged (and recorded
 * when the database can be reached) and the next run tries again.
 */
export async function redeliver(controller: Pick<ScheduledController, 'cron'>, env: Env): Promise<RedeliveryRun | null> {
  const log = createLogger(env.LOG_LEVEL, { component: 'redelivery', cron: controller.cron });
  const startedAt = new Date();
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(env);
  } catch (error) {
    log.error('redelivery run failed', { error: reasonOf(error) });
    return null;
  }
  const db = serviceClient(config);
  let counts: RedeliveryCounts = { claimed: 0, published: 0, skipped: 0, failed: 0, retried: 0, remaining: true };
  let failure: string | null = null;
  try {
    counts = await redeliverUndelivered({
      outbox: supabaseOutbox(db),
      models: observedModels,
      publish: (message) => broadcast(env, message),
      publishBatch: (messages) => broadcastBatch(env, messages),
      graceSeconds: config.redelivery.graceSeconds,
      batch: config.redelivery.batch,
      rounds: config.redelivery.rounds,
      maxAttempts: config.outbox.maxAttempts,
      log,
    });
  } catch (error) {
    if (error instanceof RedeliveryStopped) counts = error.counts;
    failure = reasonOf(error instanceof RedeliveryStopped ? error.cause : error);
  }
  let pruned = 0;
  try {
    pruned = await recordCronRun(db, { started_at: startedAt.toISOString(), ...counts, error: failure }, config.outbox.retentionHours);
  } catch (error) {
    failure ??= reasonOf(error);
  }
  const run: RedeliveryRun = { ...counts, pruned, ms: Date.now() - startedAt.getTime() };
  if (failure) {
    log.error('redelivery run failed', { ...run, error: failure });
    return null;
  }
  log[run.failed > 0 || run.retried > 0 ? 'warn' : 'info']('redelivery run', { ...run });
  return run;
}

/** The sentence the API would answer with (a misconfiguration says what to set). */
function reasonOf(error: unknown): string {
  return domainErrorResponse(error)?.message ?? errorMessage(error);
}
