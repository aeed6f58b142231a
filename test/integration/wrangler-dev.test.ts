import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedDbWebhook } from '../support/node/db-webhook.ts';
import { readDevVars } from '../support/node/dev-vars.ts';
import { startPusherApiStub } from '../support/node/pusher-api-stub.ts';
import { type RunningWorker, startWorker } from '../support/node/worker.ts';
import { hs256Token } from '../support/tokens.ts';

// The Worker as `wrangler dev` bundles it (aliases, jose, supabase-js, the pusher SDK), publishing
// through the `pusher` broadcaster to a signature-checking Pusher HTTP API. Needs no database:
// what needs one (the outbox) is in email-delivery.test.ts.
describe('the Worker under wrangler dev', () => {
  const vars = readDevVars();
  let stub: Awaited<ReturnType<typeof startPusherApiStub>>;
  let worker: RunningWorker;

  beforeAll(async () => {
    stub = await startPusherApiStub({ key: vars.PUSHER_APP_KEY!, secret: vars.PUSHER_APP_SECRET! });
    worker = await startWorker({
      // Port 9 (discard) is closed: no database here, even if someone runs `npm run dev` on 54321.
      vars: {
        BROADCAST_DRIVER: 'pusher',
        PUSHER_HOST: '127.0.0.1',
        PUSHER_PORT: String(stub.port),
        PUSHER_SCHEME: 'http',
        SUPABASE_URL: 'http://127.0.0.1:9',
      },
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await stub?.close();
  });

  it('serves the page with its own Content-Security-Policy, and every asset and 404 with one that loads and frames nothing', async () => {
    const page = await fetch(`${worker.url}/`);
    expect(page.headers.get('Content-Security-Policy')).toMatch(/^default-src 'self'; .*frame-ancestors 'none'$/);
    // functions/http/security-headers.ts and web/_headers (this Node-side test cannot import the Worker's module).
    const nothingPolicy = "default-src 'none'; frame-ancestors 'none'";
    for (const path of ['/assets/app.js', '/styles.css', '/nothing-here', '/assets/nothing-here.js']) {
      const response = await fetch(`${worker.url}${path}`);
      await response.body?.cancel();
      expect(response.headers.get('Content-Security-Policy'), path).toBe(nothingPolicy);
      expect(response.headers.get('X-Content-Type-Options'), path).toBe('nosniff');
    }
  });

  it('verifies a signed database webhook, then claims the entries it names from the database', async () => {
    const body = JSON.stringify({ type: 'UPDATE', table: 'emails', schema: 'public', outbox_ids: [1, 2] });
    const send = (request: RequestInit) => fetch(`${worker.url}/webhooks/db`, request);
    const forged = signedDbWebhook(vars.DB_WEBHOOK_SECRET!, body);
    (forged.headers as Record<string, string>)['X-Tidings-Signature'] = `v1=${'0'.repeat(64)}`;
    expect((await send(forged)).status).toBe(401);
    // Past the signature, the Worker goes to the database (none runs here) and publishes nothing.
    const response = await send(signedDbWebhook(vars.DB_WEBHOOK_SECRET!, body));
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: string }).error).toMatch(/^The database cannot be reached \(claiming outbox entries\)/);
    expect(stub.accepted).toEqual([]);
  });

  it('authorizes a user’s own private channel for a Supabase (HS256) token', async () => {
    const userId = randomUUID();
    const token = await hs256Token(
      { sub: userId, aud: 'authenticated', role: 'authenticated', iss: 'http://127.0.0.1:9/auth/v1' },
      vars.SUPABASE_JWT_SECRET!,
      300,
    );
    const response = await fetch(`${worker.url}/broadcasting/auth`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ socket_id: '1.1', channel_name: `private-user.${userId}` }),
    });
    expect(response.status).toBe(200);
    const expected = createHmac('sha256', vars.PUSHER_APP_SECRET!).update(`1.1:private-user.${userId}`).digest('hex');
    expect(await response.json()).toEqual({ auth: `${vars.PUSHER_APP_KEY}:${expected}` });
  });

  it('runs the redelivery cron from its Cron Trigger and logs the run', async () => {
    // No database runs here, so the run can only fail; what matters is that the trigger reaches it.
    const response = await fetch(`${worker.url}/__scheduled?cron=*+*+*+*+*`);
    expect(response.status).toBe(200);
    // The run finishes after the trigger's answer: wait for its log line.
    await expect.poll(() => worker.output(), { timeout: 10_000, interval: 100 }).toContain('"msg":"redelivery run failed"');
    const line = worker
      .output()
      .split('\n')
      .find((l) => l.includes('"msg":"redelivery run failed"'));
    // wrangler prefixes error lines with a coloured "[ERROR]" and appends a colour reset.
    expect(JSON.parse(line!.slice(line!.indexOf('{'), line!.lastIndexOf('}') + 1))).toMatchObject({
      level: 'error',
      component: 'redelivery',
      cron: '* * * * *',
      error: expect.stringMatching(/^The database cannot be reached/),
    });
  });
});
