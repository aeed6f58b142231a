import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { setWebhookSettings } from '../../supabase/local/index.ts';
import { startTestSupabase, type TestSupabase } from '../support/node/local-supabase.ts';
import { startWebhookReceiver, verifyWebhookSignature, type WebhookReceiver } from '../support/node/webhook-receiver.ts';
import { seedUsers } from '../support/seed-users.ts';

const secret = 'test-webhook-secret';

describe('the model observer on emails (outbox entries, database webhooks through pg_net)', () => {
  let supabase: TestSupabase;
  let receiver: WebhookReceiver;
  // A plain connection, as psql or any other client would insert rows.
  let psql: pg.Client;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    supabase = await startTestSupabase({ webhookUrl: receiver.url, webhookSecret: secret });
    psql = await supabase.connect();
  });
  afterAll(async () => {
    await supabase?.destroy();
    await receiver?.close();
  });
  beforeEach(async () => {
    await supabase.webhooksIdle();
    receiver.received.length = 0;
  });

  async function insertEmail(subject = 'Hello'): Promise<Record<string, unknown>> {
    const { rows } = await psql.query(
      `insert into emails (sender_id, recipient_id, subject, body) values ($1, $2, $3, 'Body text') returning to_jsonb(emails.*) as row`,
      [seedUsers.admin.id, seedUsers.ada.id, subject],
    );
    return rows[0].row;
  }

  it('sends one signed webhook naming the outbox entry of a one-row insert from psql, and no row data', async () => {
    const row = await insertEmail('Welcome, Ada');
    const [webhook] = await receiver.waitFor(1);
    await supabase.webhooksIdle();
    expect(receiver.received).toHaveLength(1);

    expect(webhook!.method).toBe('POST');
    expect(webhook!.path).toBe('/webhooks/db');
    expect(webhook!.headers['content-type']).toBe('application/json');
    const entry = await psql.query(`select id::int from tidings.outbox where row_id = $1 and operation = 'INSERT'`, [row.id]);
    expect(JSON.parse(webhook!.body)).toEqual({ type: 'INSERT', table: 'emails', schema: 'public', outbox_ids: [entry.rows[0].id] });
    expect(verifyWebhookSignature(webhook!.headers, webhook!.body, secret)).toBe(true);
    const timestamp = Number(webhook!.headers['x-tidings-timestamp']);
    expect(Math.abs(timestamp - Date.now() / 1000)).toBeLessThan(60);
  });

  it('does not verify a tampered body or with the wrong secret', async () => {
    await insertEmail('Untouched');
    const [webhook] = await receiver.waitFor(1);
    const tampered = webhook!.body.replace(/"outbox_ids": \[/, '"outbox_ids": [1, ');
    expect(tampered).not.toBe(webhook!.body);
    expect(verifyWebhookSignature(webhook!.headers, tampered, secret)).toBe(false);
    expect(verifyWebhookSignature(webhook!.headers, webhook!.body, 'wrong-secret')).toBe(false);
    const otherTimestamp = { ...webhook!.headers, 'x-tidings-timestamp': String(Number(webhook!.headers['x-tidings-timestamp']) + 1) };
    expect(verifyWebhookSignature(otherTimestamp, webhook!.body, secret)).toBe(false);
  });

  it('sends UPDATE when a broadcast column changes, and nothing for an update that changes none', async () => {
    const row = await insertEmail('To be read');
    await receiver.waitFor(1);
    await psql.query(`update emails set read_at = read_at, subject = 'Renamed' where id = $1`, [row.id]);
    await psql.query('update emails set read_at = now() where id = $1', [row.id]);
    const webhooks = await receiver.waitFor(2);
    await supabase.webhooksIdle();
    expect(receiver.received).toHaveLength(2);
    const update = JSON.parse(webhooks[1]!.body);
    expect(update).toMatchObject({ type: 'UPDATE', table: 'emails', schema: 'public', outbox_ids: [expect.any(Number)] });
    const entries = await psql.query(`select operation, changed_columns from tidings.outbox where row_id = $1 order by id`, [row.id]);
    expect(entries.rows).toEqual([
      { operation: 'INSERT', changed_columns: null },
      { operation: 'UPDATE', changed_columns: ['read_at'] },
    ]);
    expect(verifyWebhookSignature(webhooks[1]!.headers, webhooks[1]!.body, secret)).toBe(true);
  });

  it('sends DELETE naming an entry that keeps the deleted row’s id, sender and recipient (not its body)', async () => {
    const row = await insertEmail('To be deleted');
    await receiver.waitFor(1);
    await psql.query('delete from emails where id = $1', [row.id]);
    const webhooks = await receiver.waitFor(2);
    const entry = await psql.query(`select id::int, old_record from tidings.outbox where row_id = $1 and operation = 'DELETE'`, [row.id]);
    expect(JSON.parse(webhooks[1]!.body)).toEqual({ type: 'DELETE', table: 'emails', schema: 'public', outbox_ids: [entry.rows[0].id] });
    expect(entry.rows[0].old_record).toEqual({ id: row.id, sender_id: row.sender_id, recipient_id: row.recipient_id });
  });

  it('sends nothing and keeps no entry for a transaction that rolls back', async () => {
    await psql.query('begin');
    const never = await insertEmail('Never committed');
    await psql.query('rollback');
    const committed = await insertEmail('Committed');
    const [webhook] = await receiver.waitFor(1);
    await supabase.webhooksIdle();
    expect(receiver.received).toHaveLength(1);
    const named = await psql.query('select row_id from tidings.outbox where id = any($1)', [JSON.parse(webhook!.body).outbox_ids]);
    expect(named.rows).toEqual([{ row_id: committed.id }]);
    expect((await psql.query('select 1 from tidings.outbox where row_id = $1', [never.id])).rowCount).toBe(0);
  });

  it('records each response in net._http_response, as pg_net does', async () => {
    const { rows } = await psql.query(`select net.http_post(url := $1, body := '{"probe": true}'::jsonb) as id`, [receiver.url]);
    await receiver.waitFor(1);
    await supabase.webhooksIdle();
    const response = await psql.query('select status_code, content, timed_out, error_msg from net._http_response where id = $1', [
      rows[0].id,
    ]);
    expect(response.rows).toEqual([{ status_code: 200, content: '{"ok":true}', timed_out: false, error_msg: null }]);
  });

  it('appends params to the URL percent-encoded, as pg_net does, for GET and POST', async () => {
    await psql.query(`select net.http_get(url := $1, params := '{"a b": "c&d", "é": "1"}'::jsonb)`, [`${receiver.url}?x=1`]);
    await psql.query(`select net.http_post(url := $1, body := '{}'::jsonb, params := '{"q": "ü"}'::jsonb)`, [receiver.url]);
    const webhooks = await receiver.waitFor(2);
    await supabase.webhooksIdle();
    expect(webhooks.map((webhook) => [webhook.method, webhook.path]).sort()).toEqual([
      ['GET', '/webhooks/db?x=1&%C3%A9=1&a%20b=c%26d'],
      ['POST', '/webhooks/db?q=%C3%BC'],
    ]);
  });

  it('sends a request queued directly in net.http_request_queue, once', async () => {
    await psql.query(
      `insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
       values ('POST', $1, '{"Content-Type": "application/json"}', convert_to('{"direct": true}', 'UTF8'), 5000)`,
      [receiver.url],
    );
    const [webhook] = await receiver.waitFor(1);
    await supabase.webhooksIdle();
    expect(receiver.received).toHaveLength(1);
    expect(webhook!.body).toBe('{"direct": true}');
  });

  it('sends one webhook with the entries of a multi-row insert, by row id, and none per row', async () => {
    const { rows } = await psql.query(
      `insert into emails (sender_id, recipient_id, subject, body)
       values ($1, $2, 'One', 'Body'), ($1, $3, 'Two', 'Body'), ($1, $2, 'Three', 'Body')
       returning id`,
      [seedUsers.admin.id, seedUsers.ada.id, seedUsers.grace.id],
    );
    const [webhook] = await receiver.waitFor(1);
    await supabase.webhooksIdle();
    expect(receiver.received).toHaveLength(1);
    const { outbox_ids } = JSON.parse(webhook!.body);
    const named = await psql.query('select row_id from tidings.outbox where id = any($1) order by id', [outbox_ids]);
    expect(named.rows.map((row) => row.row_id)).toEqual(rows.map((row: { id: string }) => row.id).sort());
    expect(verifyWebhookSignature(webhook!.headers, webhook!.body, secret)).toBe(true);
  });

  it('sends a 1,000-row insert as 10 webhooks of 100 entries, every row once', async () => {
    const { rows } = await psql.query(
      `insert into emails (sender_id, recipient_id, subject, body)
       select $1, $2, 'Burst ' || n, 'Body' from generate_series(1, 1000) as n returning id`,
      [seedUsers.admin.id, seedUsers.grace.id],
    );
    const webhooks = await receiver.waitFor(10, 30_000);
    await supabase.webhooksIdle();
    expect(receiver.received).toHaveLength(10);
    const batches = webhooks.map((webhook) => JSON.parse(webhook.body).outbox_ids as number[]);
    expect(batches.map((ids) => ids.length)).toEqual(Array(10).fill(100));
    const named = await psql.query('select row_id from tidings.outbox where id = any($1)', [batches.flat()]);
    expect(new Set(named.rows.map((row) => row.row_id))).toEqual(new Set(rows.map((row: { id: string }) => row.id)));
    expect(webhooks.every((webhook) => verifyWebhookSignature(webhook.headers, webhook.body, secret))).toBe(true);
  });

  it('queues one webhook per 100 rows of a statement for 1,000-row read_at toggles (10, not 1,000), and none for no-op updates', async () => {
    const reader = seedUsers.ada.id;
    await psql.query(
      `insert into emails (sender_id, recipient_id, subject, body) select $1, $2, 'Toggle ' || n, 'Body' from generate_series(1, 1000) as n`,
      [seedUsers.admin.id, reader],
    );
    await receiver.waitFor(10, 30_000);
    await supabase.webhooksIdle();
    const queued = async () => (await psql.query('select count(*)::int as n from net._http_response')).rows[0].n as number;
    const before = await queued();
    receiver.received.length = 0;
    const toggle = `update emails set read_at = $2 where recipient_id = $1 and subject like 'Toggle %'`;
    await psql.query(toggle, [reader, '2026-12-01T00:00:00Z']);
    await psql.query(toggle, [reader, null]);
    // No-ops: read_at to its current value, and a column that is not broadcast.
    await psql.query(`update emails set read_at = read_at where recipient_id = $1 and subject like 'Toggle %'`, [reader]);
    await psql.query(`update emails set body = body || '.' where recipient_id = $1 and subject like 'Toggle %'`, [reader]);
    await supabase.webhooksIdle();
    // 2 statements x 1,000 rows: 2 x 10 webhooks of 100 entries each, not 2,000.
    expect(receiver.received).toHaveLength(20);
    expect(await queued()).toBe(before + 20);
    expect(receiver.received.every((webhook) => JSON.parse(webhook.body).type === 'UPDATE')).toBe(true);
    expect(new Set(receiver.received.flatMap((webhook) => JSON.parse(webhook.body).outbox_ids)).size).toBe(2000);
  });

  it('drains a burst of 1,000 queued requests completely, each once', async () => {
    await psql.query(`select net.http_post(url := $1, body := jsonb_build_object('n', n)) from generate_series(1, 1000) as n`, [
      receiver.url,
    ]);
    const webhooks = await receiver.waitFor(1000, 60_000);
    await supabase.webhooksIdle();
    expect(webhooks).toHaveLength(1000);
    expect(new Set(webhooks.map((webhook) => JSON.parse(webhook.body).n)).size).toBe(1000);
    const queued = await psql.query('select count(*)::int as n from net.http_request_queue');
    expect(queued.rows[0].n).toBe(0);
  }, 90_000);

  it('keeps sending after its database connections are cut', async () => {
    const { rowCount } = await psql.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'pg_net worker'`,
    );
    expect(rowCount).toBeGreaterThan(0);
    const row = await insertEmail('After reconnect');
    const [webhook] = await receiver.waitFor(1);
    const named = await psql.query('select row_id from tidings.outbox where id = any($1)', [JSON.parse(webhook!.body).outbox_ids]);
    expect(named.rows).toEqual([{ row_id: row.id }]);
  });

  it('writes rows and their outbox entries but sends nothing, with one warning per statement, while the webhook URL is not set', async () => {
    const warnings: string[] = [];
    const onNotice = (notice: { severity?: string; message?: string }) => {
      if (notice.severity === 'WARNING') warnings.push(notice.message ?? '');
    };
    psql.on('notice', onNotice);
    await psql.query(`delete from private.settings where name = 'webhook_url'`);
    try {
      await psql.query(
        `insert into emails (sender_id, recipient_id, subject, body)
         select $1, $2, 'Unsent ' || n, 'Body' from generate_series(1, 250) as n`,
        [seedUsers.admin.id, seedUsers.ada.id],
      );
      const row = await insertEmail('Unsent alone');
      await psql.query('delete from emails where id = $1', [row.id]);
      await supabase.webhooksIdle();
      expect(receiver.received).toEqual([]);
      expect(warnings).toEqual([
        'tidings: webhook_url or webhook_secret is not set; INSERT on public.emails not sent (run "npm run db:webhook")',
        'tidings: webhook_url or webhook_secret is not set; INSERT on public.emails not sent (run "npm run db:webhook")',
        'tidings: webhook_url or webhook_secret is not set; DELETE on public.emails not sent (run "npm run db:webhook")',
      ]);
      expect((await psql.query(`select count(*)::int as n from emails where subject like 'Unsent %'`)).rows[0].n).toBe(250);
      // The cron delivers them once the Worker can be reached.
      const entries = await psql.query(
        `select count(*)::int as n from tidings.outbox o join emails e on e.id::text = o.row_id where e.subject like 'Unsent %'`,
      );
      expect(entries.rows[0].n).toBe(250);
    } finally {
      psql.off('notice', onNotice);
      await setWebhookSettings(psql, receiver.url, secret);
    }
  });

  it('uses the URL and secret set later (npm run db:webhook)', async () => {
    await setWebhookSettings(psql, receiver.url.replace('/webhooks/db', '/elsewhere'), 'rotated-secret');
    try {
      await insertEmail('After rotation');
      const [webhook] = await receiver.waitFor(1);
      expect(webhook!.path).toBe('/elsewhere');
      expect(verifyWebhookSignature(webhook!.headers, webhook!.body, 'rotated-secret')).toBe(true);
      expect(verifyWebhookSignature(webhook!.headers, webhook!.body, secret)).toBe(false);
    } finally {
      await setWebhookSettings(psql, receiver.url, secret);
    }
  });
});
