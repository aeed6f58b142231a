/**
 * The Cron Trigger: publishes rows that the database webhook did not deliver, because pg_net
 * sends each request at most once and never retries. Together with the webhook this makes every
 * `email.received` arrive at least once (clients de-duplicate by email id).
 */
import { broadcast, broadcastBatch } from '../broadcast/broadcast.ts';
import { loadConfig } from '../config.ts';
import { serviceClient } from '../data/client.ts';
import { supabaseDeliveryStore } from '../data/emails.ts';
import { domainErrorResponse } from '../http/errors.ts';
import { createLogger } from '../log.ts';
import { redeliverUndelivered } from './undelivered.ts';

/** What one run did (also written to the log as one JSON line). */
export interface RedeliveryRun {
  published: number;
  failed: number;
  remaining: boolean;
}

/**
 * One redelivery run: rows undelivered REDELIVERY_GRACE_SECONDS after insert, oldest first, at most
 * REDELIVERY_BATCH. Never throws: a failed run is logged and the next minute's run tries again.
 */
export async function redeliver(controller: Pick<ScheduledController, 'cron'>, env: Env): Promise<RedeliveryRun | null> {
  const log = createLogger(env.LOG_LEVEL, { component: 'redelivery', cron: controller.cron });
  try {
    const config = loadConfig(env);
    const run = await redeliverUndelivered({
      store: supabaseDeliveryStore(serviceClient(config)),
      publish: (message) => broadcast(env, message),
      publishBatch: (messages) => broadcastBatch(env, messages),
      graceSeconds: config.redelivery.graceSeconds,
      batch: config.redelivery.batch,
      log,
    });
    // An idle minute is only worth a line at debug level.
    log[run.failed > 0 ? 'warn' : run.published > 0 ? 'info' : 'debug']('redelivery run', { ...run });
    return run;
  } catch (error) {
    // The sentence the API would answer with (a misconfiguration says what to set).
    const reason = domainErrorResponse(error)?.message ?? (error instanceof Error ? error.message : String(error));
    log.error('redelivery run failed', { error: reason });
    return null;
  }
}
