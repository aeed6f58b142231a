/**
 * `POST /webhooks/db`: the database webhook (the model observer). Verifies the signature over the
 * raw body and the timestamp, claims the outbox entries it names (with concurrent webhooks' while a
 * claim is on its way: ClaimBatcher), publishes their events from the rows the claim read, and
 * answers 2xx once the events were published; what became of each entry is written just after the
 * answer, together with concurrent webhooks' (DeliveryRecorder).
 */
import { type Context, Hono } from 'hono';
import { broadcast, broadcastBatch } from '../broadcast/broadcast.ts';
import { ClaimBatcher } from '../broadcast/claim-batcher.ts';
import { deliverEntries, PublishFailed } from '../broadcast/delivery.ts';
import { DeliveryRecorder } from '../broadcast/delivery-recorder.ts';
import { observedModels } from '../broadcast/model-events.ts';
import type { Config } from '../config.ts';
import { serviceClient } from '../data/client.ts';
import { type OutboxStore, supabaseOutbox } from '../data/outbox.ts';
import type { AppEnv } from '../env.ts';
import { limitBody } from '../http/body-limit.ts';
import { parseJsonText } from '../http/validation.ts';
import { withConfig } from '../http/with-config.ts';
import { createLogger, errorMessage, type Logger } from '../log.ts';
import { webhookPayload } from '../observe/payload.ts';
import { verifyWebhookSignature } from '../observe/signature.ts';
import { oncePer } from '../platform/once-per.ts';

/** What concurrent webhooks of one configuration share in an isolate. */
interface Shared {
  outbox: OutboxStore;
  log: Logger;
  /** Claims together while a claim is on its way. */
  claims: ClaimBatcher;
  /** Writes outcomes together, behind the answers. */
  recorder: DeliveryRecorder;
}

/** One {@link Shared} per configuration (isolate-wide). */
const sharedFor = oncePer((config: Config, env: Env): Shared => {
  const outbox = supabaseOutbox(serviceClient(config));
  const log = createLogger(env.LOG_LEVEL, { component: 'webhooks' });
  return {
    outbox,
    log,
    claims: new ClaimBatcher((ids) => outbox.claim(ids, config.outbox.maxAttempts)),
    recorder: new DeliveryRecorder((settlement) => outbox.settle(settlement, config.outbox.maxAttempts), log),
  };
});

/** The request's `waitUntil`, or null where there is no execution context (`app.request` in tests). */
function waitUntilOf(c: Context<AppEnv>): ((promise: Promise<unknown>) => void) | null {
  try {
    const ctx = c.executionCtx;
    return (promise) => ctx.waitUntil(promise);
  } catch {
    return null;
  }
}

/** The trigger sends 100 ids at most; anything much larger is not ours. */
const MAX_BODY_BYTES = 16 * 1024;

export const dbWebhook = new Hono<AppEnv>().use(withConfig, limitBody(MAX_BODY_BYTES, 'The webhook body')).post('/db', async (c) => {
  const config = c.get('config');
  const rawBody = await c.req.text();
  await verifyWebhookSignature(
    config.webhookSecret,
    { timestamp: c.req.header('X-Tidings-Timestamp'), signature: c.req.header('X-Tidings-Signature') },
    rawBody,
  );
  const payload = parseJsonText(rawBody, webhookPayload, 'webhook payload');
  const { outbox, log, claims, recorder } = sharedFor(config, c.env);
  const ids = [...new Set(payload.outbox_ids)];
  const waitUntil = waitUntilOf(c);
  // Entries delivered already, or held by another deliverer (the cron, a concurrent webhook naming
  // the same row), are not this request's to deliver.
  const entries = await claims.claim(ids, waitUntil ?? undefined);
  const outcome = await deliverEntries(entries, {
    models: observedModels,
    publish: (message) => broadcast(c.env, message),
    publishBatch: (messages) => broadcastBatch(c.env, messages),
    log,
  });
  if (outcome.failure || !waitUntil) {
    await outbox.settle(outcome.settlement, config.outbox.maxAttempts);
  } else {
    recorder.add(outcome.settlement, waitUntil);
  }
  if (outcome.failure) {
    // A 502, so pg_net's log shows the failure; the cron retries the entries.
    throw new PublishFailed(`Publishing outbox entry ${outcome.failure.entryId} failed: ${errorMessage(outcome.failure.error)}`, {
      cause: outcome.failure.error,
    });
  }
  const claimed = new Set(entries.map((entry) => entry.id));
  return c.json(
    {
      claimed: entries.length,
      published: outcome.published,
      skipped: outcome.skipped,
      failed: outcome.failed,
      // Delivered already, failed, or held by another deliverer (a concurrent webhook included).
      not_claimed: ids.filter((id) => !claimed.has(id)).length,
    },
    200,
  );
});
