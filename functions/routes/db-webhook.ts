/**
 * `POST /webhooks/db`: the database webhook (the model observer on `public.emails`). Verifies the
 * signature over the raw body and the timestamp, parses the payload (one row, or the ids of a
 * multi-row insert), publishes, records delivery, and answers 2xx only once the events were published.
 */
import { type Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { broadcast, broadcastBatch } from '../broadcast/broadcast.ts';
import { deliverChange } from '../broadcast/delivery.ts';
import { DeliveryRecorder } from '../broadcast/delivery-recorder.ts';
import type { EmailRow } from '../broadcast/model-events.ts';
import type { Config } from '../config.ts';
import { serviceClient } from '../data/client.ts';
import { supabaseDeliveryStore } from '../data/emails.ts';
import type { AppEnv } from '../env.ts';
import { limitBody } from '../http/body-limit.ts';
import { validationError } from '../http/validation.ts';
import { withConfig } from '../http/with-config.ts';
import { createLogger } from '../log.ts';
import { webhookPayload } from '../observe/payload.ts';
import { verifyWebhookSignature } from '../observe/signature.ts';

/** One recorder per configuration (isolate-wide), so concurrent webhooks share its writes. */
const recorders = new WeakMap<Config, DeliveryRecorder>();

function recorderFor(config: Config, env: Env): DeliveryRecorder {
  let recorder = recorders.get(config);
  if (!recorder) {
    const store = supabaseDeliveryStore(serviceClient(config));
    recorder = new DeliveryRecorder(
      (rows, now) => store.recordDeliveries(rows, now),
      createLogger(env.LOG_LEVEL, { component: 'webhooks' }),
    );
    recorders.set(config, recorder);
  }
  return recorder;
}

/** The request's `waitUntil`, or null where there is no execution context (`app.request` in tests). */
function waitUntilOf(c: Context<AppEnv>): ((promise: Promise<unknown>) => void) | null {
  try {
    const ctx = c.executionCtx;
    return (promise) => ctx.waitUntil(promise);
  } catch {
    return null;
  }
}

/** The trigger sends one row, or 100 ids; anything much larger is not ours. */
const MAX_BODY_BYTES = 256 * 1024;

export const dbWebhook = new Hono<AppEnv>().use(withConfig, limitBody(MAX_BODY_BYTES, 'The webhook body')).post('/db', async (c) => {
  const rawBody = await c.req.text();
  await verifyWebhookSignature(
    c.get('config').webhookSecret,
    { timestamp: c.req.header('X-Tidings-Timestamp'), signature: c.req.header('X-Tidings-Signature') },
    rawBody,
  );
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch {
    throw new HTTPException(400, { message: 'The webhook body is not JSON' });
  }
  const parsed = webhookPayload.safeParse(json);
  if (!parsed.success) throw validationError(parsed.error, 'webhook payload');
  const config = c.get('config');
  const waitUntil = waitUntilOf(c);
  // A PublishFailed becomes a 502 (../http/errors.ts), so pg_net's log shows the failure.
  const result = await deliverChange(parsed.data, {
    store: supabaseDeliveryStore(serviceClient(config)),
    publish: (message) => broadcast(c.env, message),
    publishBatch: (messages) => broadcastBatch(c.env, messages),
    // The cron leaves rows younger than the grace period alone; half of it leaves room for the
    // time between this check and the recording (published rows are recorded a moment later).
    publishFromPayloadWithinMs: (config.redelivery.graceSeconds * 1000) / 2,
    ...(waitUntil ? { recordLater: (row: EmailRow) => recorderFor(config, c.env).add(row, waitUntil) } : {}),
    log: createLogger(c.env.LOG_LEVEL, { component: 'webhooks' }),
  });
  return c.json(result, 200);
});
