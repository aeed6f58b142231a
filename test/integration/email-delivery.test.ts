import { createHmac } from 'node:crypto';
import Echo from 'laravel-echo';
import pg from 'pg';
import Pusher from 'pusher-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_PRESENCE_CHANNEL,
  ANNOUNCEMENTS_CHANNEL,
  AnnouncementCreated,
  EmailDeleted,
  EmailReceived,
  EmailsUpdated,
  EmailUpdated,
  previewOf,
  userChannel,
} from '../../functions/broadcast/events.ts';
import { readDevVars } from '../support/node/dev-vars.ts';
import type { TestSupabase } from '../support/node/local-supabase.ts';
import { connected, nextEvent, onLoopback, subscribed, userPusher } from '../support/node/realtime-clients.ts';
import { startStack } from '../support/node/stack.ts';
import { type RunningWorker, startWorker } from '../support/node/worker.ts';
import { seedUsers } from '../support/seed-users.ts';

// The whole path on one machine: the local Supabase (Postgres, /rest/v1, /auth/v1, pg_net) sends
// signed webhooks to the Worker under `wrangler dev`, which publishes through the `realtime`
// broadcaster to pusher-js and Laravel Echo clients authorized by POST /broadcasting/auth.
describe('email delivery end to end', () => {
  const vars = readDevVars();
  let supabase: TestSupabase;
  let worker: RunningWorker;
  let port: number;
  let db: pg.Client;
  const tokens: Record<'admin' | 'ada' | 'grace', string> = { admin: '', ada: '', grace: '' };
  const clients: Pusher[] = [];

  let workerVars: Record<string, string>;

  beforeAll(async () => {
    // A 2 s grace period: the cron leaves entries a webhook is delivering right now alone, and the
    // cron test's rows are old enough by the time the Worker is back.
    const stack = await startStack({ workerVars: { BROADCAST_DRIVER: 'realtime', REDELIVERY_GRACE_SECONDS: '2', REDELIVERY_BATCH: '20' } });
    ({ supabase, worker, vars: workerVars } = stack);
    port = worker.port;
    db = await supabase.connect();
    for (const name of ['admin', 'ada', 'grace'] as const) tokens[name] = await supabase.accessToken(seedUsers[name]);
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });
  afterAll(async () => {
    await worker?.stop();
    await supabase?.destroy();
  });

  /** pusher-js as the web client configures it, authorizing channels at the Worker with the user's token. */
  function browserClient(token: string): Pusher {
    const client = userPusher(worker, token, vars.PUSHER_APP_KEY!);
    clients.push(client);
    return client;
  }

  function api(path: string, token: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${worker.url}${path}`, {
      ...init,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...init.headers },
    });
  }

  /** The ids of the `email.received` events a user's pusher-js gets from now on, in order. */
  async function receivedEmailIds(name: 'ada' | 'grace'): Promise<string[]> {
    const client = browserClient(tokens[name]);
    await connected(client);
    await subscribed(client, userChannel(seedUsers[name].id));
    const received: string[] = [];
    client
      .channel(userChannel(seedUsers[name].id))!
      .bind(EmailReceived.name, (data: unknown) => received.push(EmailReceived.schema.parse(data).id));
    return received;
  }

  /** Outbox entries not delivered yet (and not failed). */
  async function undelivered(): Promise<number> {
    return (await db.query<{ n: number }>('select count(*)::int as n from tidings.outbox where delivered_at is null and failed_at is null'))
      .rows[0]!.n;
  }

  /** The outbox entries of a row, oldest first. */
  async function entriesOf(rowId: string) {
    return (await db.query('select operation, attempts, delivered_at from tidings.outbox where row_id = $1 order by id', [rowId])).rows;
  }

  it('delivers an insert from a plain Postgres connection to pusher-js subscribed through /broadcasting/auth', async () => {
    const ada = browserClient(tokens.ada);
    await connected(ada);
    await subscribed(ada, userChannel(seedUsers.ada.id));
    const arrival = nextEvent(ada, userChannel(seedUsers.ada.id), EmailReceived.name);
    const { rows } = await db.query<{ id: string }>(
      `insert into public.emails (sender_id, recipient_id, subject, body) values ($1, $2, 'From psql', $3) returning id`,
      [seedUsers.admin.id, seedUsers.ada.id, 'Inserted by a plain Postgres client. '.repeat(10)],
    );
    const email = EmailReceived.schema.parse(await arrival);
    expect(email).toMatchObject({
      id: rows[0]!.id,
      sender_id: seedUsers.admin.id,
      sender_name: seedUsers.admin.name,
      subject: 'From psql',
    });
    expect(email.preview.length).toBeLessThanOrEqual(141);
    await expect.poll(() => entriesOf(rows[0]!.id)).toMatchObject([{ operation: 'INSERT', delivered_at: expect.any(Date), attempts: 1 }]);
  });

  it('delivers every row of a multi-row insert from one webhook, in one batch, and records them all', async () => {
    const ada = browserClient(tokens.ada);
    await connected(ada);
    await subscribed(ada, userChannel(seedUsers.ada.id));
    const received: Array<{ id: string; preview: string }> = [];
    ada
      .channel(userChannel(seedUsers.ada.id))!
      .bind(EmailReceived.name, (data: unknown) => received.push(EmailReceived.schema.parse(data)));
    // Long bodies with runs of whitespace: delivery reads only their start, and the preview must not change.
    const { rows } = await db.query<{ id: string; body: string }>(
      `insert into public.emails (sender_id, recipient_id, subject, body)
       select $1, $2, 'Import ' || n, 'Imported   in ' || repeat(E' \n', n) || 'one statement ' || repeat('and more text ', 1200)
       from generate_series(1, 150) as n returning id, body`,
      [seedUsers.admin.id, seedUsers.ada.id],
    );
    const ids = rows.map((row) => row.id);
    await expect.poll(() => received.length, { timeout: 10_000 }).toBe(150);
    // Two webhooks (100 + 50 ids) may interleave, so compare as sets.
    expect(new Set(received.map((email) => email.id))).toEqual(new Set(ids));
    const bodies = new Map(rows.map((row) => [row.id, row.body]));
    expect(received.filter((email) => email.preview !== previewOf(bodies.get(email.id)!))).toEqual([]);
    await expect
      .poll(
        async () =>
          (
            await db.query(
              'select count(*)::int as n from tidings.outbox where row_id = any($1) and delivered_at is not null and attempts = 1',
              [ids],
            )
          ).rows[0].n,
      )
      .toBe(150);
  });

  it('publishes the rows of one multi-row webhook in order: by row id within a statement', async () => {
    const received = await receivedEmailIds('grace');
    const { rows } = await db.query<{ id: string }>(
      `insert into public.emails (sender_id, recipient_id, subject, body)
       select $1, $2, 'Ordered ' || n, 'Body' from generate_series(1, 20) as n returning id`,
      [seedUsers.admin.id, seedUsers.grace.id],
    );
    await expect.poll(() => received.length, { timeout: 10_000 }).toBe(20);
    // One statement's entries are written by row id.
    expect(received).toEqual(rows.map((row) => row.id).sort());
  });

  it('claims the webhooks of a burst of one-row inserts together: fewer claims than webhooks, every email once', async () => {
    const received = await receivedEmailIds('grace');
    // Each claim is one transaction that counts an attempt on the entries it takes: record which.
    await db.query(`
      create table public.claims_seen (txid bigint, outbox_id bigint);
      create function public.claims_seen_record() returns trigger language plpgsql as
        $$ begin insert into public.claims_seen values (txid_current(), new.id); return null; end $$;
      create trigger claims_seen after update on tidings.outbox
        for each row when (new.attempts > old.attempts) execute function public.claims_seen_record();`);
    try {
      // 50 one-row statements in one transaction: 50 webhooks, which pg_net sends at once on commit.
      const tag = `Burst ${Date.now()}`;
      await db.query(
        `do $$ begin
           for n in 1..50 loop
             insert into public.emails (sender_id, recipient_id, subject, body)
             values (${pg.escapeLiteral(seedUsers.admin.id)}, ${pg.escapeLiteral(seedUsers.grace.id)}, ${pg.escapeLiteral(tag)} || ' ' || n, 'Body');
           end loop;
         end $$`,
      );
      const ids = (await db.query<{ id: string }>('select id from public.emails where subject like $1', [`${tag} %`])).rows.map(
        (row) => row.id,
      );
      expect(ids).toHaveLength(50);
      await expect.poll(() => received.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(50);
      // Every webhook answered 2xx: none was cancelled while it waited for a claim made by another.
      const answers = await db.query<{ status_code: number }>('select status_code from net._http_response order by id desc limit 50');
      expect(answers.rows.filter((answer) => answer.status_code !== 200)).toEqual([]);
      expect(received.toSorted(), 'each email once').toEqual(ids.toSorted());
      await expect.poll(() => entriesOf(ids[0]!)).toMatchObject([{ delivered_at: expect.any(Date), attempts: 1 }]);
      const claims = await db.query<{ claims: number; entries: number }>(
        `select count(distinct c.txid)::int as claims, count(*)::int as entries
         from public.claims_seen c join tidings.outbox o on o.id = c.outbox_id where o.row_id = any($1)`,
        [ids],
      );
      expect(claims.rows[0]!.entries, 'every entry claimed once').toBe(50);
      // One claim per webhook would be 50; webhooks that arrive while a claim is out join the next.
      expect(claims.rows[0]!.claims).toBeLessThan(25);
      // Requests wait on each other's claims: workerd warns when that crosses a finished request.
      expect(worker.output()).not.toMatch(/different request context|code had hung/);
    } finally {
      await db.query(
        'drop trigger claims_seen on tidings.outbox; drop function public.claims_seen_record(); drop table public.claims_seen',
      );
    }
  });

  it('refuses a private channel of another user with the reason, and never subscribes', async () => {
    const ada = browserClient(tokens.ada);
    await connected(ada);
    await expect(subscribed(ada, userChannel(seedUsers.grace.id))).rejects.toMatchObject({ detail: { status: 403 } });
  });

  it('lets admins into presence-admins with their name and role, and refuses users', async () => {
    const ada = browserClient(tokens.ada);
    const admin = browserClient(tokens.admin);
    await Promise.all([connected(ada), connected(admin)]);
    const joined = await subscribed(admin, ADMIN_PRESENCE_CHANNEL);
    expect(joined.me).toMatchObject({ id: seedUsers.admin.id, info: { name: seedUsers.admin.name, role: 'admin' } });
    await expect(subscribed(ada, ADMIN_PRESENCE_CHANNEL)).rejects.toMatchObject({ detail: { status: 403 } });
  });

  it('serves the email API to an admin and a user, and broadcasts sends and reads through the database', async () => {
    expect(await (await api('/api/me', tokens.ada)).json()).toEqual({
      user: { id: seedUsers.ada.id, email: seedUsers.ada.email, display_name: seedUsers.ada.name, role: 'user' },
    });
    const users = (await (await api('/api/users', tokens.admin)).json()) as { users: Array<{ id: string }> };
    expect(users.users.map((u) => u.id).sort()).toEqual([seedUsers.ada.id, seedUsers.admin.id, seedUsers.grace.id].sort());
    expect((await api('/api/users', tokens.ada)).status).toBe(403);
    expect(
      (
        await api('/api/emails', tokens.ada, {
          method: 'POST',
          body: JSON.stringify({ recipient_ids: [seedUsers.grace.id], subject: 'Hi', body: 'x' }),
        })
      ).status,
    ).toBe(403);
    const nobody = crypto.randomUUID();
    const unknown = await api('/api/emails', tokens.admin, {
      method: 'POST',
      body: JSON.stringify({ recipient_ids: [nobody], subject: 'Hi', body: 'x' }),
    });
    expect(unknown.status).toBe(422);
    expect(await unknown.json()).toEqual({
      error: `Unknown recipient(s): ${nobody}`,
      issues: [{ path: 'recipient_ids', message: `No user has the id ${nobody} (any more).`, value: nobody }],
    });

    const ada = browserClient(tokens.ada);
    await connected(ada);
    await subscribed(ada, userChannel(seedUsers.ada.id));
    const arrival = nextEvent(ada, userChannel(seedUsers.ada.id), EmailReceived.name);
    const sent = await api('/api/emails', tokens.admin, {
      method: 'POST',
      body: JSON.stringify({ recipient_ids: [seedUsers.ada.id, seedUsers.grace.id], subject: 'Team update', body: 'Hello both.' }),
    });
    expect(sent.status).toBe(201);
    const { emails } = (await sent.json()) as {
      emails: Array<{ id: string; recipient_id: string; sender_name: string; created_at: string }>;
    };
    expect(emails).toHaveLength(2);
    expect(emails.every((e) => e.sender_name === seedUsers.admin.name)).toBe(true);
    const toAda = emails.find((e) => e.recipient_id === seedUsers.ada.id)!;
    expect(EmailReceived.schema.parse(await arrival).id).toBe(toAda.id);

    const inbox = (await (await api('/api/emails?limit=100', tokens.ada)).json()) as {
      emails: Array<{ id: string; recipient_id: string }>;
    };
    expect(inbox.emails[0]!.id).toBe(toAda.id);
    expect(inbox.emails.every((e) => e.recipient_id === seedUsers.ada.id)).toBe(true);
    const newer = (await (await api(`/api/emails?after=${encodeURIComponent(toAda.created_at)}`, tokens.ada)).json()) as {
      emails: unknown[];
    };
    expect(newer.emails).toEqual([]);

    const graceEmail = emails.find((e) => e.recipient_id === seedUsers.grace.id)!;
    expect((await api(`/api/emails/${graceEmail.id}/read`, tokens.ada, { method: 'PATCH' })).status).toBe(404);
    const update = nextEvent(ada, userChannel(seedUsers.ada.id), EmailUpdated.name);
    const read = await api(`/api/emails/${toAda.id}/read`, tokens.ada, { method: 'PATCH' });
    expect(read.status).toBe(200);
    const { email } = (await read.json()) as { email: { read_at: string } };
    expect(EmailUpdated.schema.parse(await update)).toEqual({ id: toAda.id, read_at: expect.any(String) });
    expect(Date.parse(EmailUpdated.schema.parse(await update).read_at!)).toBe(Date.parse(email.read_at));
    const again = (await (await api(`/api/emails/${toAda.id}/read`, tokens.ada, { method: 'PATCH' })).json()) as {
      email: { read_at: string };
    };
    expect(again.email.read_at).toBe(email.read_at);
  });

  it('tells another tab about mark all read of 250 emails in three emails.updated events, not 250 email.updated', async () => {
    const { rows: inserted } = await db.query<{ id: string }>(
      `insert into public.emails (sender_id, recipient_id, subject, body)
       select $1, $2, 'Pile ' || n, 'Unread' from generate_series(1, 250) as n returning id`,
      [seedUsers.admin.id, seedUsers.grace.id],
    );
    await expect.poll(undelivered, { timeout: 10_000 }).toBe(0);
    const otherTab = browserClient(tokens.grace);
    await connected(otherTab);
    await subscribed(otherTab, userChannel(seedUsers.grace.id));
    const together: Array<Array<{ id: string; read_at: string | null }>> = [];
    let alone = 0;
    otherTab.channel(userChannel(seedUsers.grace.id))!.bind(EmailsUpdated.name, (data: unknown) => {
      together.push(EmailsUpdated.schema.parse(data).emails);
    });
    otherTab.channel(userChannel(seedUsers.grace.id))!.bind(EmailUpdated.name, () => alone++);

    const newest = (await (await api('/api/emails?limit=1', tokens.grace)).json()) as { emails: Array<{ created_at: string }> };
    const response = await api('/api/emails/mark-all-read', tokens.grace, {
      method: 'POST',
      body: JSON.stringify({ up_to: newest.emails[0]!.created_at }),
    });
    // Grace's unread mail from earlier tests is marked too.
    const { marked, read_at } = (await response.json()) as { marked: number; read_at: string };
    expect(marked).toBeGreaterThanOrEqual(250);
    await expect.poll(() => together.flat().length, { timeout: 10_000 }).toBe(marked);
    await expect.poll(undelivered, { timeout: 10_000 }).toBe(0);
    // One UPDATE: a webhook per 100 entries, each broadcast as one event.
    expect(together).toHaveLength(Math.ceil(marked / 100));
    const changes = together.flat();
    expect(new Set(changes.map((change) => change.id)).size).toBe(marked);
    expect(inserted.every((row) => changes.some((change) => change.id === row.id))).toBe(true);
    expect(changes.every((change) => Date.parse(change.read_at!) === Date.parse(read_at))).toBe(true);
    expect(alone).toBe(0);
  });

  it('writes nothing when one of several recipients is unknown, and names that one', async () => {
    const count = async () => (await db.query<{ n: number }>('select count(*)::int as n from public.emails')).rows[0]!.n;
    const before = await count();
    const nobody = crypto.randomUUID();
    const response = await api('/api/emails', tokens.admin, {
      method: 'POST',
      body: JSON.stringify({ recipient_ids: [seedUsers.ada.id, nobody, seedUsers.grace.id], subject: 'All or nothing', body: 'x' }),
    });
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({
      error: `Unknown recipient(s): ${nobody}`,
      issues: [{ path: 'recipient_ids', message: `No user has the id ${nobody} (any more).`, value: nobody }],
    });
    expect(await count()).toBe(before);
  });

  it('answers 422 naming a recipient deleted while the insert runs, and writes nothing', async () => {
    const { rows } = await db.query<{ id: string }>(
      `insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data)
       values (gen_random_uuid(), 'authenticated', 'authenticated', 'leaving@tidings.test', '{}', '{"display_name":"Leaving"}') returning id`,
    );
    const leaving = rows[0]!.id;
    // Another session deletes the profile but has not committed: readers still see it, while the
    // insert's foreign key check waits for that session, then finds the profile gone.
    const remover = new pg.Client({ connectionString: supabase.databaseUrl });
    await remover.connect();
    try {
      await remover.query('begin');
      await remover.query('delete from public.profiles where id = $1', [leaving]);
      const response = api('/api/emails', tokens.admin, {
        method: 'POST',
        body: JSON.stringify({ recipient_ids: [seedUsers.ada.id, leaving], subject: 'Race', body: 'x' }),
      });
      await expect
        .poll(
          async () =>
            (
              await db.query<{ n: number }>(
                `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query ilike '%insert into "public"."emails"%'`,
              )
            ).rows[0]!.n,
          { timeout: 10_000 },
        )
        .toBe(1);
      await remover.query('commit');
      const answer = await response;
      expect(answer.status).toBe(422);
      expect(((await answer.json()) as { error: string }).error).toBe(`Unknown recipient(s): ${leaving}`);
      expect((await db.query('select 1 from public.emails where subject = $1', ['Race'])).rowCount).toBe(0);
    } finally {
      await remover.end();
    }
  });

  it('delivers every email of a burst inserted while the Worker was down once the cron runs', async () => {
    const failedBefore = (await db.query<{ n: number }>('select count(*)::int as n from net._http_response where error_msg is not null'))
      .rows[0]!.n;
    await worker.stop();
    await db.query(
      `insert into public.emails (sender_id, recipient_id, subject, body)
       select $1, $2, 'Burst ' || n, 'Sent while the Worker was down' from generate_series(1, 50) as n`,
      [seedUsers.admin.id, seedUsers.grace.id],
    );
    // pg_net tried the statement's one webhook once and failed (connection refused); it never retries.
    await expect
      .poll(
        async () =>
          (await db.query<{ n: number }>('select count(*)::int as n from net._http_response where error_msg is not null')).rows[0]!.n,
        { timeout: 10_000 },
      )
      .toBe(failedBefore + 1);
    expect(await undelivered()).toBe(50);

    worker = await startWorker({ port, vars: workerVars });
    const grace = browserClient(tokens.grace);
    await connected(grace);
    await subscribed(grace, userChannel(seedUsers.grace.id));
    const received = new Set<string>();
    grace
      .channel(userChannel(seedUsers.grace.id))!
      .bind(EmailReceived.name, (data: unknown) => received.add(EmailReceived.schema.parse(data).id));

    // REDELIVERY_BATCH=20: each run publishes the 20 oldest, so three runs deliver all 50.
    // The cron leaves rows alone for REDELIVERY_GRACE_SECONDS (2) after insert: wait until none is younger.
    const youngerThanGrace = async () =>
      (
        await db.query<{ n: number }>(
          `select count(*)::int as n from tidings.outbox where delivered_at is null and created_at > clock_timestamp() - interval '2100 milliseconds'`,
        )
      ).rows[0]!.n;
    await expect.poll(youngerThanGrace, { timeout: 10_000, interval: 100 }).toBe(0);
    for (const left of [30, 10, 0]) {
      expect((await fetch(`${worker.url}/__scheduled?cron=*+*+*+*+*`)).status).toBe(200);
      await expect.poll(undelivered, { timeout: 15_000 }).toBe(left);
    }
    await expect.poll(() => received.size, { timeout: 10_000 }).toBe(50);
  });

  it('delivers inserts, updates and deletes made while the Worker was down: each at least once, a row’s changes in order', async () => {
    await worker.stop();
    const { rows } = await db.query<{ id: string }>(
      `insert into public.emails (sender_id, recipient_id, subject, body)
       select $1, $2, 'Offline ' || n, 'Changed while the Worker was down' from generate_series(1, 12) as n returning id`,
      [seedUsers.admin.id, seedUsers.grace.id],
    );
    const ids = rows.map((row) => row.id).sort();
    const [read, readAndDeleted, deleted] = [ids.slice(0, 4), ids.slice(4, 6), ids.slice(6, 8)];
    await db.query('update public.emails set read_at = now() where id = any($1)', [[...read, ...readAndDeleted]]);
    await db.query('update public.emails set read_at = null where id = any($1)', [read.slice(0, 2)]);
    await db.query('delete from public.emails where id = any($1)', [[...readAndDeleted, ...deleted]]);
    // 12 inserts, 6 + 2 updates, 4 deletes.
    expect(await undelivered()).toBe(24);

    worker = await startWorker({ port, vars: workerVars });
    const grace = browserClient(tokens.grace);
    await connected(grace);
    await subscribed(grace, userChannel(seedUsers.grace.id));
    const events: Array<[string, string, string | null]> = [];
    const channel = grace.channel(userChannel(seedUsers.grace.id))!;
    channel.bind(EmailReceived.name, (data: unknown) => events.push(['received', EmailReceived.schema.parse(data).id, null]));
    channel.bind(EmailUpdated.name, (data: unknown) => {
      const update = EmailUpdated.schema.parse(data);
      events.push(['updated', update.id, update.read_at]);
    });
    // The cron claims the two UPDATE statements' entries in a row: they go out together.
    channel.bind(EmailsUpdated.name, (data: unknown) => {
      for (const update of EmailsUpdated.schema.parse(data).emails) events.push(['updated', update.id, update.read_at]);
    });
    channel.bind(EmailDeleted.name, (data: unknown) => events.push(['deleted', EmailDeleted.schema.parse(data).id, null]));

    await expect
      .poll(
        async () =>
          (
            await db.query(`select count(*)::int as n from tidings.outbox
      where delivered_at is null and created_at > clock_timestamp() - interval '2100 milliseconds'`)
          ).rows[0].n,
        { timeout: 10_000, interval: 100 },
      )
      .toBe(0);
    // REDELIVERY_BATCH=20: two runs, each leaving fewer entries.
    for (let left = await undelivered(); left > 0; ) {
      expect((await fetch(`${worker.url}/__scheduled?cron=*+*+*+*+*`)).status).toBe(200);
      const before = left;
      await expect.poll(async () => (left = await undelivered()), { timeout: 15_000 }).toBeLessThan(before);
    }
    const of = (id: string) =>
      events
        .filter((event) => event[1] === id)
        .map(([kind, , readAt]) => (kind === 'updated' ? `updated:${readAt ? 'read' : 'unread'}` : kind));
    await expect.poll(() => events.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(8 + 4 + 4);
    for (const id of ids.slice(8)) expect(of(id)).toEqual(['received']);
    // Updates are published from the row as it is now: a row's two updates, claimed in one run and
    // broadcast together, say its current state once.
    for (const id of read.slice(0, 2)) expect(of(id)).toEqual(['received', 'updated:unread']);
    for (const id of read.slice(2)) expect(of(id)).toEqual(['received', 'updated:read']);
    // A deleted row cannot be read: its insert and updates publish nothing, its delete says so.
    for (const id of [...readAndDeleted, ...deleted]) expect(of(id)).toEqual(['deleted']);
  });

  it('publishes what the database says, not what a signed webhook claims', async () => {
    const ada = browserClient(tokens.ada);
    await connected(ada);
    await subscribed(ada, userChannel(seedUsers.ada.id));
    let arrival = nextEvent(ada, userChannel(seedUsers.ada.id), EmailReceived.name);
    const { rows } = await db.query<{ id: string }>(
      `insert into public.emails (sender_id, recipient_id, subject, body) values ($1, $2, 'The real subject', 'Real body') returning id`,
      [seedUsers.admin.id, seedUsers.ada.id],
    );
    await arrival;
    await expect.poll(async () => (await entriesOf(rows[0]!.id))[0]?.delivered_at).toBeInstanceOf(Date);
    // Someone with the webhook secret names the row's entry again, and claims another subject and sender.
    const entry = await db.query(`update tidings.outbox set delivered_at = null where row_id = $1 returning id::int`, [rows[0]!.id]);
    const body = JSON.stringify({
      type: 'INSERT',
      table: 'emails',
      schema: 'public',
      outbox_ids: [entry.rows[0].id],
      record: { id: rows[0]!.id, subject: 'Forged subject', sender_id: seedUsers.ada.id, read_at: '2026-01-01T00:00:00Z' },
      sender: { display_name: 'Forged sender' },
    });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = createHmac('sha256', vars.DB_WEBHOOK_SECRET!).update(`${timestamp}.${body}`).digest('hex');
    arrival = nextEvent(ada, userChannel(seedUsers.ada.id), EmailReceived.name);
    const response = await fetch(`${worker.url}/webhooks/db`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Tidings-Timestamp': timestamp, 'X-Tidings-Signature': `v1=${signature}` },
      body,
    });
    expect(response.status).toBe(200);
    expect(EmailReceived.schema.parse(await arrival)).toMatchObject({
      id: rows[0]!.id,
      subject: 'The real subject',
      sender_id: seedUsers.admin.id,
      sender_name: seedUsers.admin.name,
    });
    // Naming it once more finds it delivered: nothing is published twice.
    const again = await fetch(`${worker.url}/webhooks/db`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Tidings-Timestamp': timestamp, 'X-Tidings-Signature': `v1=${signature}` },
      body,
    });
    await expect.poll(async () => (await entriesOf(rows[0]!.id))[0]?.delivered_at).toBeInstanceOf(Date);
    expect(await again.json()).toMatchObject({ claimed: 0, published: 0, not_claimed: 1 });
  });

  it('reports delivery to admins only: undelivered entries, the oldest’s age, failed entries with reasons, the last cron run', async () => {
    expect((await api('/api/delivery', tokens.ada)).status).toBe(403);
    // A poison row: written with the service role, its event cannot be built.
    await worker.stop();
    const { rows } = await db.query<{ id: string }>(
      `insert into public.emails (sender_id, recipient_id, subject, body, created_at) values ($1, $2, 'Poison', 'x', '-infinity') returning id`,
      [seedUsers.admin.id, seedUsers.ada.id],
    );
    worker = await startWorker({ port, vars: workerVars });
    const report = async () => (await (await api('/api/delivery', tokens.admin)).json()) as Record<string, unknown>;
    expect(await report()).toMatchObject({
      undelivered: 1,
      oldest_undelivered_at: expect.any(String),
      oldest_undelivered_age_seconds: expect.any(Number),
    });
    await expect
      .poll(
        async () =>
          (
            await db.query(
              `select count(*)::int as n from tidings.outbox where created_at > clock_timestamp() - interval '2100 milliseconds' and delivered_at is null`,
            )
          ).rows[0].n,
        { timeout: 10_000, interval: 100 },
      )
      .toBe(0);
    expect((await fetch(`${worker.url}/__scheduled?cron=*+*+*+*+*`)).status).toBe(200);
    await expect.poll(async () => (await report()).failed_count, { timeout: 15_000 }).toBe(1);
    const after = await report();
    expect(after).toMatchObject({
      undelivered: 0,
      oldest_undelivered_at: null,
      failed: [
        {
          table: 'public.emails',
          operation: 'INSERT',
          row_id: rows[0]!.id,
          attempts: 1,
          reason: 'public.emails INSERT: the row does not match the model (created_at: not a finite timestamp)',
        },
      ],
      last_cron_run: { claimed: 1, published: 0, failed: 1, remaining: false, error: null },
    });
    // One log line per run, with its counts.
    await expect.poll(() => worker.output(), { timeout: 10_000 }).toContain('"msg":"redelivery run"');
    const line = worker
      .output()
      .split('\n')
      .find((l) => l.includes('"msg":"redelivery run"'))!;
    expect(JSON.parse(line.slice(line.indexOf('{'), line.lastIndexOf('}') + 1))).toMatchObject({
      component: 'redelivery',
      claimed: 1,
      published: 0,
      failed: 1,
      pruned: 0,
    });
    await db.query('delete from public.emails where id = $1', [rows[0]!.id]);
    await db.query(`update tidings.outbox set delivered_at = now() where row_id = $1`, [rows[0]!.id]);
  });

  it('broadcasts an insert into announcements (tidings.observe plus its model declaration) from psql to every signed-in pusher-js', async () => {
    const [ada, grace] = [browserClient(tokens.ada), browserClient(tokens.grace)];
    await Promise.all([connected(ada), connected(grace)]);
    await Promise.all([subscribed(ada, ANNOUNCEMENTS_CHANNEL), subscribed(grace, ANNOUNCEMENTS_CHANNEL)]);
    const arrivals = [ada, grace].map((client) => nextEvent(client, ANNOUNCEMENTS_CHANNEL, AnnouncementCreated.name));
    const { rows } = await db.query<{ id: string }>(
      `insert into public.announcements (sender_id, title, body) values ($1, 'Maintenance tonight', 'From 22:00 to 23:00.') returning id`,
      [seedUsers.admin.id],
    );
    for (const arrival of arrivals) {
      expect(AnnouncementCreated.schema.parse(await arrival)).toMatchObject({
        id: rows[0]!.id,
        sender_id: seedUsers.admin.id,
        title: 'Maintenance tonight',
        body: 'From 22:00 to 23:00.',
      });
    }
    // Posting one needs an admin; reading them any signed-in user.
    expect((await api('/api/announcements', tokens.ada, { method: 'POST', body: JSON.stringify({ title: 'No', body: '' }) })).status).toBe(
      403,
    );
    const posted = await api('/api/announcements', tokens.admin, {
      method: 'POST',
      body: JSON.stringify({ title: ' Posted ', body: 'Hi all' }),
    });
    expect(posted.status).toBe(201);
    const { announcement } = (await posted.json()) as { announcement: { id: string; title: string; created_at: string } };
    expect(announcement.title).toBe('Posted');
    const listed = (await (await api('/api/announcements', tokens.grace)).json()) as { announcements: Array<{ id: string }> };
    expect(listed.announcements.map((a) => a.id).slice(0, 2)).toEqual([announcement.id, rows[0]!.id]);
    const after = (await (await api(`/api/announcements?after=${encodeURIComponent(announcement.created_at)}`, tokens.grace)).json()) as {
      announcements: unknown[];
    };
    expect(after.announcements).toEqual([]);
  });

  it('lets Laravel Echo listen for .email.received on a private channel authorized by /broadcasting/auth', async () => {
    const echo = new Echo({
      broadcaster: 'pusher',
      key: vars.PUSHER_APP_KEY!,
      ...onLoopback(port),
      Pusher,
      authEndpoint: `${worker.url}/broadcasting/auth`,
      auth: { headers: { Authorization: `Bearer ${tokens.ada}` } },
    });
    try {
      const arrival = new Promise<unknown>((resolve) => echo.private(`user.${seedUsers.ada.id}`).listen(`.${EmailReceived.name}`, resolve));
      // Echo subscribes asynchronously: insert once the subscription is confirmed.
      await new Promise<void>((resolve) => echo.private(`user.${seedUsers.ada.id}`).subscribed(() => resolve()));
      const { rows } = await db.query<{ id: string }>(
        `insert into public.emails (sender_id, recipient_id, subject, body) values ($1, $2, 'For Echo', 'Hello Echo') returning id`,
        [seedUsers.admin.id, seedUsers.ada.id],
      );
      expect(EmailReceived.schema.parse(await arrival)).toMatchObject({ id: rows[0]!.id, subject: 'For Echo' });
    } finally {
      echo.disconnect();
    }
  });
  it('pages through emails that share one created_at with before and before_id, each once', async () => {
    const { rows } = await db.query<{ id: string }>(
      `insert into auth.users (id, aud, role, email, encrypted_password, email_confirmed_at, raw_app_meta_data, raw_user_meta_data)
       values (gen_random_uuid(), 'authenticated', 'authenticated', 'batch@tidings.test', extensions.crypt('password123', extensions.gen_salt('bf')),
               now(), '{}', '{"display_name":"Batch"}') returning id`,
    );
    const reader = rows[0]!.id;
    // One statement, one transaction: now() gives all 60 the same created_at.
    await db.query(
      `insert into public.emails (sender_id, recipient_id, subject, body) select $1, $2, 'Batch ' || n, 'x' from generate_series(1, 60) as n`,
      [seedUsers.admin.id, reader],
    );
    const token = await supabase.accessToken({ email: 'batch@tidings.test', password: 'password123' });
    type Page = { emails: Array<{ id: string; created_at: string }> };
    const first = (await (await api('/api/emails?limit=50', token)).json()) as Page;
    expect(first.emails).toHaveLength(50);
    const last = first.emails.at(-1)!;
    const next = (await (
      await api(`/api/emails?limit=50&before=${encodeURIComponent(last.created_at)}&before_id=${last.id}`, token)
    ).json()) as Page;
    const ids = [...first.emails, ...next.emails].map((email) => email.id);
    expect(new Set(ids).size).toBe(60);
    expect(ids).toHaveLength(60);
  });

  it('keeps the inbox working for 150 signed-in users at once: no presence channel to fill, announcements and mail reach everyone', async () => {
    // More people online than a presence channel may hold (100): each signs in and subscribes as
    // the web client does, to their own channel and the announcements channel.
    const { rows: people } = await db.query<{ id: string; email: string }>(
      `insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
         raw_app_meta_data, raw_user_meta_data, created_at, updated_at, confirmation_token, recovery_token, email_change, email_change_token_new)
       select '00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', 'crowd' || n || '@tidings.test',
         extensions.crypt('crowd-password', extensions.gen_salt('bf', 4)), now(),
         '{"provider": "email", "providers": ["email"]}', jsonb_build_object('display_name', 'Crowd member ' || n), now(), now(), '', '', '', ''
       from generate_series(1, 150) as n
       returning id, email`,
    );
    try {
      const crowd = await Promise.all(
        people.map(async (person) => {
          const client = browserClient(await supabase.accessToken({ email: person.email, password: 'crowd-password' }));
          await connected(client, 30_000);
          await Promise.all([subscribed(client, userChannel(person.id)), subscribed(client, ANNOUNCEMENTS_CHANNEL)]);
          return { person, client };
        }),
      );
      // Presence stays for admins, so a crowd of users never meets its limit.
      const admin = browserClient(tokens.admin);
      await connected(admin);
      expect((await subscribed(admin, ADMIN_PRESENCE_CHANNEL)).count).toBe(1);

      const announced = crowd.map(({ client }) => nextEvent(client, ANNOUNCEMENTS_CHANNEL, AnnouncementCreated.name));
      const posted = await api('/api/announcements', tokens.admin, {
        method: 'POST',
        body: JSON.stringify({ title: 'For everyone', body: 'All 150.' }),
      });
      expect(posted.status).toBe(201);
      for (const arrival of await Promise.all(announced)) expect(AnnouncementCreated.schema.parse(arrival).title).toBe('For everyone');

      const last = crowd.at(-1)!;
      const mail = nextEvent(last.client, userChannel(last.person.id), EmailReceived.name);
      await db.query(`insert into public.emails (sender_id, recipient_id, subject, body) values ($1, $2, 'To the 150th', 'Hello.')`, [
        seedUsers.admin.id,
        last.person.id,
      ]);
      expect(EmailReceived.schema.parse(await mail)).toMatchObject({ sender_id: seedUsers.admin.id, subject: 'To the 150th' });
    } finally {
      for (const client of clients.splice(0)) client.disconnect();
      await db.query('delete from auth.users where id = any($1::uuid[])', [people.map((person) => person.id)]);
    }
  }, 120_000);
});
