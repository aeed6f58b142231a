import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeBroadcasting, restoreBroadcasting } from '../../../functions/broadcast/broadcast.ts';
import { authEnv, call, hmacHex } from '../../support/workerd/auth.ts';
import { payload, signedWebhook } from '../../support/workerd/webhooks.ts';

afterEach(() => restoreBroadcasting());

/** The database is down: a webhook that gets past its checks answers 503 from the claim. */
const databaseDown = () => authEnv({ SUPABASE_URL: 'http://127.0.0.1:9' });

async function post(init: RequestInit, testEnv = databaseDown()): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await call('/webhooks/db', init, testEnv);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

// Claiming and publishing need the database: test/integration/email-delivery.test.ts covers them
// with a real Postgres and pusher-js. Here: everything the Worker checks before the database.
describe('POST /webhooks/db', () => {
  it('claims the named entries from the database once the signature holds: 503 and nothing published while it cannot be reached', async () => {
    const broadcasts = fakeBroadcasting();
    const result = await post(await signedWebhook(payload('INSERT', [1, 2, 3])));
    expect(result.status).toBe(503);
    expect(result.body.error).toMatch(/^The database cannot be reached \(claiming outbox entries\)/);
    broadcasts.assertNothingBroadcast();
  });

  it('refuses a body signed with another secret', async () => {
    const result = await post(await signedWebhook(payload('DELETE', [1]), { secret: 'not-the-secret' }));
    expect(result).toEqual({
      status: 401,
      body: { error: 'X-Tidings-Signature does not match the body: check DB_WEBHOOK_SECRET on both sides' },
    });
  });

  it('refuses a body changed after signing', async () => {
    const init = await signedWebhook(payload('DELETE', [1]));
    expect((await post({ ...init, body: payload('DELETE', [2]) })).status).toBe(401);
  });

  it('refuses a signature computed over the body without the timestamp', async () => {
    const body = payload('DELETE', [1]);
    expect((await post(await signedWebhook(body, { signature: `v1=${await hmacHex(env.DB_WEBHOOK_SECRET, body)}` }))).status).toBe(401);
  });

  it('refuses a replay older than 5 minutes, even correctly signed', async () => {
    const old = Math.floor(Date.now() / 1000) - 301;
    const result = await post(await signedWebhook(payload('DELETE', [1]), { timestamp: old }));
    expect(result.status).toBe(401);
    expect(result.body.error).toMatch(/s old \(more than 300 s\): refused as a possible replay$/);
  });

  it('refuses a timestamp too far in the future', async () => {
    const result = await post(await signedWebhook(payload('DELETE', [1]), { timestamp: Math.floor(Date.now() / 1000) + 600 }));
    expect(result.status).toBe(401);
    expect(result.body.error).toMatch(/in the future/);
  });

  it('accepts a timestamp a little in the past (network and queue delay)', async () => {
    expect((await post(await signedWebhook(payload('DELETE', [1]), { timestamp: Math.floor(Date.now() / 1000) - 60 }))).status).toBe(503);
  });

  it('refuses missing or malformed signature headers with a reason', async () => {
    const body = payload('DELETE', [1]);
    expect((await post({ method: 'POST', body })).body).toEqual({ error: 'X-Tidings-Timestamp is missing' });
    expect((await post({ method: 'POST', body, headers: { 'X-Tidings-Timestamp': 'yesterday' } })).body.error).toMatch(
      /must be unix seconds/,
    );
    expect((await post({ method: 'POST', body, headers: { 'X-Tidings-Timestamp': '1' } })).body).toEqual({
      error: 'X-Tidings-Signature is missing',
    });
    const wrongScheme = await post(await signedWebhook(body, { signature: 'sha256=abcd' }));
    expect(wrongScheme).toEqual({ status: 401, body: { error: 'X-Tidings-Signature has no v1=<64 hex digits> signature' } });
  });

  it('accepts the right signature among several (secret rotation)', async () => {
    const good = await signedWebhook(payload('DELETE', [1]));
    const header = (good.headers as Record<string, string>)['X-Tidings-Signature'];
    const rotated = {
      ...good,
      headers: { ...(good.headers as Record<string, string>), 'X-Tidings-Signature': `v1=${'0'.repeat(64)}, ${header}` },
    };
    expect((await post(rotated)).status).toBe(503);
  });

  it('answers 413 for a body far larger than 100 ids', async () => {
    const result = await post(await signedWebhook(JSON.stringify({ padding: 'x'.repeat(20 * 1024) })));
    expect(result).toEqual({ status: 413, body: { error: 'The webhook body is over 16 KB' } });
  });

  it('answers 400 for a signed body that is not JSON', async () => {
    expect(await post(await signedWebhook('{"type":'))).toEqual({ status: 400, body: { error: 'The webhook payload is not JSON' } });
  });

  it('answers 400 naming the field for a wrong operation, no ids, too many ids or ids that are not entry ids', async () => {
    const broadcasts = fakeBroadcasting();
    const body = (fields: object) => JSON.stringify({ type: 'INSERT', table: 'emails', schema: 'public', outbox_ids: [1], ...fields });
    let result = await post(await signedWebhook(body({ type: 'TRUNCATE' })));
    expect(result.status).toBe(400);
    expect(result.body.error).toMatch(/^Invalid webhook payload: type:/);
    for (const outbox_ids of [[], Array.from({ length: 101 }, (_, i) => i + 1), ['1'], [0], [1.5]]) {
      result = await post(await signedWebhook(body({ outbox_ids })));
      expect(result.status).toBe(400);
      expect(result.body.error).toMatch(/^Invalid webhook payload: outbox_ids/);
    }
    // A payload of before the outbox (rows, no entry ids) is refused, not trusted.
    result = await post(await signedWebhook(JSON.stringify({ type: 'INSERT', table: 'emails', schema: 'public', record: {} })));
    expect(result.status).toBe(400);
    broadcasts.assertNothingBroadcast();
  });
});
