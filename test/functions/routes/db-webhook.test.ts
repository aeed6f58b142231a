import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeBroadcasting, restoreBroadcasting } from '../../../functions/broadcast/broadcast.ts';
import { EmailDeleted, EmailReceived, EmailUpdated } from '../../../functions/broadcast/events.ts';
import { app } from '../../../functions/index.ts';
import { seedUsers } from '../../support/seed-users.ts';
import { authEnv, call, hmacHex } from '../../support/workerd/auth.ts';
import { acceptedByPusherStub, pusherStubVars } from '../../support/workerd/pusher-api-stub.ts';
import { emailRow, payload, signedWebhook } from '../../support/workerd/webhooks.ts';

afterEach(() => restoreBroadcasting());

async function post(init: RequestInit, testEnv = authEnv()): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await call('/webhooks/db', init, testEnv);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('POST /webhooks/db', () => {
  it('publishes email.updated for an update to the recipient’s channel and answers 200', async () => {
    const broadcasts = fakeBroadcasting();
    const before = emailRow();
    const after = { ...before, read_at: '2026-11-28T03:00:00.5+00:00' };
    const result = await post(await signedWebhook(payload('UPDATE', after, before)));
    expect(result).toEqual({ status: 200, body: { status: 'published', event: 'email.updated', recorded: false } });
    broadcasts.assertBroadcastOn(`private-user.${before.recipient_id}`, EmailUpdated);
    broadcasts.assertBroadcast(EmailUpdated, (data) => data.id === before.id && data.read_at === after.read_at);
  });

  it('publishes email.deleted for a delete, from old_record', async () => {
    const broadcasts = fakeBroadcasting();
    const row = emailRow();
    expect((await post(await signedWebhook(payload('DELETE', null, row)))).status).toBe(200);
    broadcasts.assertBroadcast(EmailDeleted, (data, channels) => data.id === row.id && channels[0] === `private-user.${row.recipient_id}`);
  });

  it('refuses a body signed with another secret', async () => {
    const broadcasts = fakeBroadcasting();
    const result = await post(await signedWebhook(payload('DELETE', null, emailRow()), { secret: 'not-the-secret' }));
    expect(result).toEqual({
      status: 401,
      body: { error: 'X-Tidings-Signature does not match the body: check DB_WEBHOOK_SECRET on both sides' },
    });
    broadcasts.assertNothingBroadcast();
  });

  it('refuses a body changed after signing', async () => {
    const broadcasts = fakeBroadcasting();
    const row = emailRow();
    const init = await signedWebhook(payload('DELETE', null, row));
    const tampered = { ...init, body: payload('DELETE', null, { ...row, recipient_id: seedUsers.grace.id }) };
    expect((await post(tampered)).status).toBe(401);
    broadcasts.assertNothingBroadcast();
  });

  it('refuses a signature computed over the body without the timestamp', async () => {
    const body = payload('DELETE', null, emailRow());
    expect((await post(await signedWebhook(body, { signature: `v1=${await hmacHex(env.DB_WEBHOOK_SECRET, body)}` }))).status).toBe(401);
  });

  it('refuses a replay older than 5 minutes, even correctly signed', async () => {
    const broadcasts = fakeBroadcasting();
    const old = Math.floor(Date.now() / 1000) - 301;
    const result = await post(await signedWebhook(payload('DELETE', null, emailRow()), { timestamp: old }));
    expect(result.status).toBe(401);
    expect(result.body.error).toMatch(/s old \(more than 300 s\): refused as a possible replay$/);
    broadcasts.assertNothingBroadcast();
  });

  it('refuses a timestamp too far in the future', async () => {
    const result = await post(await signedWebhook(payload('DELETE', null, emailRow()), { timestamp: Math.floor(Date.now() / 1000) + 600 }));
    expect(result.status).toBe(401);
    expect(result.body.error).toMatch(/in the future/);
  });

  it('accepts a timestamp a little in the past (network and queue delay)', async () => {
    fakeBroadcasting();
    expect(
      (await post(await signedWebhook(payload('DELETE', null, emailRow()), { timestamp: Math.floor(Date.now() / 1000) - 60 }))).status,
    ).toBe(200);
  });

  it('refuses missing or malformed signature headers with a reason', async () => {
    const body = payload('DELETE', null, emailRow());
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
    fakeBroadcasting();
    const body = payload('DELETE', null, emailRow());
    const good = await signedWebhook(body);
    const header = (good.headers as Record<string, string>)['X-Tidings-Signature'];
    const rotated = {
      ...good,
      headers: { ...(good.headers as Record<string, string>), 'X-Tidings-Signature': `v1=${'0'.repeat(64)}, ${header}` },
    };
    expect((await post(rotated)).status).toBe(200);
  });

  it('answers 413 for a body far larger than any row', async () => {
    const result = await post(await signedWebhook(payload('DELETE', null, emailRow({ body: 'x'.repeat(300 * 1024) }))));
    expect(result).toEqual({ status: 413, body: { error: 'The webhook body is over 256 KB' } });
  });

  it('answers 400 for a signed body that is not JSON', async () => {
    expect(await post(await signedWebhook('{"type":'))).toEqual({ status: 400, body: { error: 'The webhook body is not JSON' } });
  });

  it('answers 400 naming the field for another table, a wrong type or a malformed row', async () => {
    const broadcasts = fakeBroadcasting();
    const row = emailRow();
    let result = await post(
      await signedWebhook(JSON.stringify({ type: 'INSERT', table: 'profiles', schema: 'public', record: row, old_record: null })),
    );
    expect(result.status).toBe(400);
    expect((result.body.issues as Array<{ path: string }>)[0]!.path).toBe('table');
    result = await post(
      await signedWebhook(JSON.stringify({ type: 'TRUNCATE', table: 'emails', schema: 'public', record: null, old_record: null })),
    );
    expect(result.status).toBe(400);
    expect(result.body.error).toMatch(/^Invalid webhook payload: type:/);
    result = await post(await signedWebhook(payload('UPDATE', { ...row, recipient_id: 'nobody' }, row)));
    expect(result.status).toBe(400);
    expect(result.body.error).toMatch(/^Invalid webhook payload: record.recipient_id:/);
    result = await post(await signedWebhook(payload('DELETE', null, null)));
    expect(result.status).toBe(400);
    broadcasts.assertNothingBroadcast();
  });

  it('answers 502 and not 2xx when the broadcaster refuses the event', async () => {
    const testEnv = authEnv({ ...pusherStubVars, PUSHER_APP_SECRET: 'a-secret-the-pusher-api-does-not-know' });
    const result = await post(await signedWebhook(payload('DELETE', null, emailRow())), testEnv);
    expect(result.status).toBe(502);
    expect(result.body.error).toMatch(/^Publishing email.deleted for .* failed: Pusher refused email.deleted on private-user\..*: 401/);
  });

  it('publishes through the pusher broadcaster to a Pusher HTTP API', async () => {
    const row = emailRow();
    const testEnv = authEnv(pusherStubVars);
    expect((await post(await signedWebhook(payload('DELETE', null, row)), testEnv)).status).toBe(200);
    const accepted = await acceptedByPusherStub();
    const published = accepted.map((r) => JSON.parse(r.body)).find((b) => b.data === JSON.stringify({ id: row.id }));
    expect(published).toEqual({
      name: 'email.deleted',
      channels: [`private-user.${row.recipient_id}`],
      data: JSON.stringify({ id: row.id }),
    });
  });

  it('answers 503 and publishes nothing for an insert when the database cannot be reached', async () => {
    const broadcasts = fakeBroadcasting();
    const result = await post(await signedWebhook(payload('INSERT', emailRow())), authEnv({ SUPABASE_URL: 'http://127.0.0.1:9' }));
    expect(result.status).toBe(503);
    expect(result.body.error).toMatch(/^The database cannot be reached/);
    broadcasts.assertNothingBroadcast();
  });

  it('publishes a fresh one-row insert from its payload first, so a database outage delays only the bookkeeping', async () => {
    const broadcasts = fakeBroadcasting();
    const row = emailRow({ created_at: new Date(Date.now() - 1000).toISOString() });
    const body = JSON.stringify({
      type: 'INSERT',
      table: 'emails',
      schema: 'public',
      record: row,
      old_record: null,
      sender: { display_name: seedUsers.admin.name },
    });
    const result = await post(await signedWebhook(body), authEnv({ SUPABASE_URL: 'http://127.0.0.1:9' }));
    expect(result).toEqual({ status: 200, body: { status: 'published', event: 'email.received', recorded: false } });
    broadcasts.assertBroadcast(EmailReceived, (data) => data.id === row.id && data.sender_name === seedUsers.admin.name);
  });

  it('answers once published and records the row after the answer when the request has an execution context', async () => {
    const broadcasts = fakeBroadcasting();
    const row = emailRow({ created_at: new Date(Date.now() - 1000).toISOString() });
    const body = JSON.stringify({
      type: 'INSERT',
      table: 'emails',
      schema: 'public',
      record: row,
      old_record: null,
      sender: { display_name: seedUsers.admin.name },
    });
    const ctx = createExecutionContext();
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (line: string) => void warnings.push(line);
    try {
      const response = await app.fetch(
        new Request('http://tidings.test/webhooks/db', await signedWebhook(body)),
        authEnv({ SUPABASE_URL: 'http://127.0.0.1:9' }),
        ctx,
      );
      expect(await response.json()).toEqual({ status: 'published', event: 'email.received', recorded: 'later' });
      broadcasts.assertBroadcast(EmailReceived, (data) => data.id === row.id);
      expect(warnings).toEqual([]);
      // The recording runs behind the answer; with the database down it is logged, and the cron republishes.
      await waitOnExecutionContext(ctx);
      expect(warnings.map((line) => JSON.parse(line))).toMatchObject([{ msg: 'deliveries not recorded', count: 1 }]);
    } finally {
      console.warn = warn;
    }
  });

  it('reads the rows of a multi-row insert first: 503 and nothing published while the database cannot be reached', async () => {
    const broadcasts = fakeBroadcasting();
    const body = JSON.stringify({
      type: 'INSERT',
      table: 'emails',
      schema: 'public',
      record_ids: [crypto.randomUUID(), crypto.randomUUID()],
    });
    const result = await post(await signedWebhook(body), authEnv({ SUPABASE_URL: 'http://127.0.0.1:9' }));
    expect(result.status).toBe(503);
    broadcasts.assertNothingBroadcast();
  });

  it('answers 400 for an insert with neither or both of record and record_ids, or too many ids', async () => {
    const broadcasts = fakeBroadcasting();
    const insert = (extra: object) => JSON.stringify({ type: 'INSERT', table: 'emails', schema: 'public', ...extra });
    let result = await post(await signedWebhook(insert({})));
    expect(result.status).toBe(400);
    expect(result.body.error).toMatch(/^Invalid webhook payload: record: An INSERT needs either record or record_ids/);
    result = await post(await signedWebhook(insert({ record: emailRow(), record_ids: [crypto.randomUUID()] })));
    expect(result.status).toBe(400);
    result = await post(await signedWebhook(insert({ record_ids: Array.from({ length: 101 }, () => crypto.randomUUID()) })));
    expect(result.status).toBe(400);
    expect(result.body.error).toMatch(/^Invalid webhook payload: record_ids/);
    result = await post(await signedWebhook(insert({ record_ids: ['not-an-id'] })));
    expect(result.status).toBe(400);
    broadcasts.assertNothingBroadcast();
  });
});
