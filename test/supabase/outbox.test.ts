import { mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../supabase/local/migrations.ts';
import { startTestSupabase, type TestSupabase } from '../support/node/local-supabase.ts';
import { seedUsers } from '../support/seed-users.ts';

const migrationsDir = fileURLToPath(new URL('../../supabase/migrations/', import.meta.url));
const OUTBOX_MIGRATION = '20261204090000_outbox.sql';

/** An entry as the claim functions return it. */
interface Claimed {
  id: number;
  table_name: string;
  operation: string;
  row_id: string;
  attempts: number;
  record: Record<string, unknown> | null;
}

describe('the outbox (tidings.outbox and its functions, on a real Postgres)', () => {
  let supabase: TestSupabase;
  let db: pg.Client;

  beforeAll(async () => {
    supabase = await startTestSupabase();
    db = await supabase.connect();
  });
  afterAll(async () => {
    await supabase?.destroy();
  });

  /** Runs `sql` as the Worker's service role, in a transaction of its own. */
  async function asService<T>(sql: string, params: unknown[] = []): Promise<T> {
    await db.query('begin');
    try {
      await db.query('set local role service_role');
      const { rows } = await db.query(sql, params);
      await db.query('commit');
      return Object.values(rows[0] as object)[0] as T;
    } catch (error) {
      await db.query('rollback');
      throw error;
    }
  }

  /** The claims with max_attempts 3, as the settle below (the Worker passes OUTBOX_MAX_ATTEMPTS to both). */
  const claim = (ids: number[]) => asService<Claimed[]>('select public.tidings_claim_outbox($1, 60, 3)', [ids]);
  const claimDue = (limit: number) => asService<Claimed[]>('select public.tidings_claim_due(0, $1, 60, 3)', [limit]);
  const settle = (outcome: object, maxAttempts = 3) =>
    asService<{ delivered: number; failed: number; retried: number }>('select public.tidings_settle_outbox($1, $2)', [
      outcome,
      maxAttempts,
    ]);

  /** Settles every pending entry, so each test starts from an empty queue. */
  async function drain(): Promise<void> {
    await db.query('update tidings.outbox set delivered_at = now(), claimed_until = null where delivered_at is null and failed_at is null');
  }

  async function insertEmails(count: number, subject = 'Outbox'): Promise<string[]> {
    const { rows } = await db.query<{ id: string }>(
      `insert into emails (sender_id, recipient_id, subject, body)
       select $1, $2, $3 || ' ' || n, 'Body ' || n from generate_series(1, $4::int) as n returning id`,
      [seedUsers.admin.id, seedUsers.ada.id, subject, count],
    );
    return rows.map((row) => row.id);
  }

  async function entriesOf(rowIds: string[]): Promise<Array<{ id: number; operation: string; row_id: string }>> {
    const { rows } = await db.query('select id::int, operation, row_id from tidings.outbox where row_id = any($1) order by id', [rowIds]);
    return rows;
  }

  /** Inserts an email, changes it with `change` (SQL taking its id as $1), and returns its two entries. */
  async function insertedAndChanged(subject: string, change: string) {
    const [id] = await insertEmails(1, subject);
    await db.query(change, [id]);
    const [first, second] = await entriesOf([id!]);
    return [first!, second!] as const;
  }

  /** Ends an entry's lease, as when its deliverer stopped (over the CPU limit, say) before settling it. */
  async function expireLease(id: number): Promise<void> {
    await db.query(`update tidings.outbox set claimed_until = clock_timestamp() - interval '1 second' where id = $1`, [id]);
  }

  it('keeps every undelivered email across the migration, as an INSERT entry with its attempts, and no delivered one', async () => {
    // A database migrated up to the one before the outbox, with emails delivered and not.
    const parent = await mkdtemp(join(tmpdir(), 'tidings-migrations-'));
    try {
      for (const file of (await readdir(migrationsDir)).filter((name) => name.endsWith('.sql') && name < OUTBOX_MIGRATION)) {
        await symlink(join(migrationsDir, file), join(parent, file));
      }
      await db.query('create database before_outbox');
      const before = new pg.Client({ connectionString: supabase.databaseUrl.replace(/\/[^/]*$/, '/before_outbox') });
      await before.connect();
      try {
        await applyMigrations(before, { migrationsDir: parent });
        const { rows } = await before.query<{ id: string; delivered: boolean }>(
          `insert into emails (sender_id, recipient_id, subject, body, created_at, delivered_at, delivery_attempts)
           select $1, $2, 'Old ' || n, 'Body', now() - make_interval(mins => 10 - n),
                  case when n % 3 = 0 then now() end, n % 4
           from generate_series(1, 9) as n returning id, delivered_at is not null as delivered`,
          [seedUsers.admin.id, seedUsers.ada.id],
        );
        await symlink(join(migrationsDir, OUTBOX_MIGRATION), join(parent, OUTBOX_MIGRATION));
        expect((await applyMigrations(before, { migrationsDir: parent })).applied).toEqual([OUTBOX_MIGRATION]);

        const undelivered = rows.filter((row) => !row.delivered).map((row) => row.id);
        const entries = await before.query(
          `select o.row_id, o.operation, o.attempts, o.created_at = e.created_at as kept_time
           from tidings.outbox o join emails e on e.id::text = o.row_id order by o.id`,
        );
        expect(entries.rows.map((entry) => entry.row_id)).toEqual(undelivered);
        expect(entries.rows.every((entry) => entry.operation === 'INSERT' && entry.kept_time)).toBe(true);
        const attempts = await before.query(`select subject from emails where id = any($1) order by created_at`, [undelivered]);
        expect(entries.rows.map((entry) => entry.attempts)).toEqual(attempts.rows.map(({ subject }) => Number(subject.slice(4)) % 4));
        // The columns are gone, and the emails are all still there.
        const columns = await before.query(
          `select column_name from information_schema.columns where table_name = 'emails' and column_name like 'deliver%'`,
        );
        expect(columns.rows).toEqual([]);
        expect((await before.query('select count(*)::int as n from emails')).rows[0].n).toBe(9);
      } finally {
        await before.end();
        await db.query('drop database before_outbox with (force)');
      }
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });

  it('claims entries with the rows as the database has them now, and no deliverer claims an entry another holds', async () => {
    await drain();
    const [id] = await insertEmails(1, 'Claimed');
    await db.query(`update emails set subject = 'Changed since' where id = $1`, [id]);
    const [entry] = await entriesOf([id!]);
    const first = await claim([entry!.id]);
    expect(first).toMatchObject([
      {
        id: entry!.id,
        operation: 'INSERT',
        row_id: id,
        attempts: 1,
        record: { id, subject: 'Changed since', sender_name: seedUsers.admin.name },
      },
    ]);
    // The cron, and a repeated webhook, find it held.
    expect(await claimDue(100)).toEqual([]);
    expect(await claim([entry!.id])).toEqual([]);
    expect(await settle({ delivered: [entry!.id] })).toEqual({ delivered: 1, failed: 0, retried: 0 });
    expect(await claim([entry!.id])).toEqual([]);
  });

  it('lets only one of many concurrent claims take an entry', async () => {
    await drain();
    await insertEmails(50, 'Raced');
    const clients = await Promise.all(Array.from({ length: 4 }, () => supabase.connect()));
    const claims = await Promise.all(
      clients.map(async (client) => {
        await client.query('begin; set local role service_role');
        const { rows } = await client.query('select public.tidings_claim_due(0, 50, 60) as claimed');
        await client.query('commit');
        return (rows[0].claimed as Claimed[]).map((entry) => entry.id);
      }),
    );
    const all = claims.flat();
    expect(all).toHaveLength(50);
    expect(new Set(all).size).toBe(50);
  });

  it('claims a row’s earlier pending changes with a later one, so they go out in order', async () => {
    await drain();
    const [id] = await insertEmails(1, 'Ordered');
    await db.query('update emails set read_at = now() where id = $1', [id]);
    await db.query('update emails set read_at = null where id = $1', [id]);
    const entries = await entriesOf([id!]);
    expect(entries.map((entry) => entry.operation)).toEqual(['INSERT', 'UPDATE', 'UPDATE']);
    // Only the last webhook arrived: the claim brings the two before it, in order.
    expect((await claim([entries[2]!.id])).map((entry) => entry.id)).toEqual(entries.map((entry) => entry.id));
    await settle({ delivered: entries.map((entry) => entry.id) });
    // The cron skips a change while an earlier one of its row is held by another deliverer.
    await db.query('update emails set read_at = now() where id = $1', [id]);
    await db.query('update emails set read_at = null where id = $1', [id]);
    const [held, waiting] = (await entriesOf([id!])).slice(3);
    await db.query(`update tidings.outbox set claimed_until = now() + interval '1 minute' where id = $1`, [held!.id]);
    expect(await claimDue(100)).toEqual([]);
    // So does the webhook's claim: the later change waits for the one held to go out first.
    expect(await claim([waiting!.id])).toEqual([]);
    await db.query('update tidings.outbox set claimed_until = null where id = $1', [held!.id]);
    expect((await claimDue(100)).map((entry) => entry.id)).toEqual([held!.id, waiting!.id]);
  });

  it('makes a claim of a row wait for another claim of the same row still running, then see its lease', async () => {
    await drain();
    const [insert, remove] = await insertedAndChanged('Raced', 'delete from emails where id = $1');
    expect([insert.operation, remove.operation]).toEqual(['INSERT', 'DELETE']);
    // The cron claims the INSERT in a transaction that has not committed yet...
    const cron = await supabase.connect();
    const cronPid = (await cron.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    await cron.query('begin');
    await cron.query('set local role service_role');
    await cron.query('select public.tidings_claim_due(0, 1, 60)');
    // ...while the DELETE's webhook claims: it waits for the cron's claim of that row to end.
    let webhookClaimed: Claimed[] | undefined;
    const webhook = claim([remove.id]).then((claimed) => (webhookClaimed = claimed));
    // Postgres itself says the webhook's backend waits on a lock the cron's transaction holds.
    const observer = await supabase.connect();
    const blockedByCron = async () =>
      (await observer.query('select pid from pg_stat_activity where $1 = any(pg_blocking_pids(pid))', [cronPid])).rowCount;
    await expect.poll(blockedByCron).toBe(1);
    expect(webhookClaimed).toBeUndefined();
    await cron.query('commit');
    await webhook;
    // It sees the INSERT held, and leaves the DELETE for after it: email.deleted cannot overtake email.received.
    expect(webhookClaimed).toEqual([]);
  });

  it('counts attempts in place and marks an entry failed at the maximum, with the last error', async () => {
    await drain();
    const [id] = await insertEmails(1, 'Flaky');
    const [entry] = await entriesOf([id!]);
    for (const expected of [
      { delivered: 0, failed: 0, retried: 1 },
      { delivered: 0, failed: 0, retried: 1 },
      { delivered: 0, failed: 1, retried: 0 },
    ]) {
      await claim([entry!.id]);
      expect(await settle({ retry: [{ id: entry!.id, error: 'Pusher answered 500' }] })).toEqual(expected);
    }
    const { rows } = await db.query('select attempts, failure_reason, failed_at is not null as failed from tidings.outbox where id = $1', [
      entry!.id,
    ]);
    expect(rows).toEqual([{ attempts: 3, failure_reason: 'gave up after 3 attempts: Pusher answered 500', failed: true }]);
    // Failed entries are left alone, until replayed.
    expect(await claim([entry!.id])).toEqual([]);
    expect((await db.query('select tidings.replay(array[$1::bigint]) as n', [entry!.id])).rows[0].n).toBe(1);
    expect(await claim([entry!.id])).toMatchObject([{ id: entry!.id, attempts: 1 }]);
  });

  /** An entry's attempts, failure reason and whether it is failed, delivered or held. */
  async function stateOf(id: number) {
    const { rows } = await db.query(
      `select attempts, failure_reason, failed_at is not null as failed, delivered_at is not null as delivered,
              claimed_until > clock_timestamp() as held
       from tidings.outbox where id = $1`,
      [id],
    );
    return rows[0];
  }

  it('counts an attempt when an entry is claimed, not again when it is settled, and gives it back when it is released', async () => {
    await drain();
    const [deliveredRow, releasedRow] = await insertEmails(2, 'Counted');
    const [delivered] = await entriesOf([deliveredRow!]);
    const [released] = await entriesOf([releasedRow!]);
    expect((await claim([delivered!.id, released!.id])).map((entry) => entry.attempts)).toEqual([1, 1]);
    await settle({ delivered: [delivered!.id], released: [released!.id] });
    expect(await stateOf(delivered!.id)).toMatchObject({ attempts: 1, delivered: true });
    // Released, not tried: it costs nothing, however often that happens.
    expect(await stateOf(released!.id)).toMatchObject({ attempts: 0, delivered: false, held: null });
    for (let round = 0; round < 5; round++) {
      await claim([released!.id]);
      await settle({ released: [released!.id] });
    }
    expect(await stateOf(released!.id)).toMatchObject({ attempts: 0, failed: false, held: null });
  });

  it('marks failed an entry whose deliverers stopped before settling it max_attempts times, so the next change of its row goes', async () => {
    await drain();
    const [crashing, next] = await insertedAndChanged('Crashing', 'update emails set read_at = now() where id = $1');
    expect([crashing.operation, next.operation]).toEqual(['INSERT', 'UPDATE']);
    for (let attempt = 1; attempt <= 3; attempt++) {
      // The INSERT's webhook (then the cron) claims it...
      expect((await claim([crashing.id])).map((entry) => [entry.id, entry.attempts])).toEqual([[crashing.id, attempt]]);
      // ...the UPDATE waits behind it...
      expect(await claimDue(100)).toEqual([]);
      // ...and the Worker ends before settling it: its lease runs out.
      await expireLease(crashing.id);
    }
    // The fourth claim gives up on it, and takes the row's next change in the same claim.
    expect((await claimDue(100)).map((entry) => [entry.id, entry.attempts])).toEqual([[next.id, 1]]);
    expect(await stateOf(crashing.id)).toEqual({
      attempts: 3,
      failure_reason: 'gave up after 3 attempts: the deliverer stopped before recording an outcome',
      failed: true,
      delivered: false,
      held: null,
    });
    expect(await settle({ delivered: [next.id] })).toEqual({ delivered: 1, failed: 0, retried: 0 });
    // Replayed, it starts again from zero attempts.
    expect((await db.query('select tidings.replay(array[$1::bigint]) as n', [crashing.id])).rows[0].n).toBe(1);
    expect(await claim([crashing.id])).toMatchObject([{ id: crashing.id, attempts: 1 }]);
  });

  it('replays failed entries from psql, and leaves a pending entry and the lease a deliverer holds on it as they are', async () => {
    await drain();
    const [heldRow, failedRow] = await insertEmails(2, 'Replayed by hand');
    const [held] = await entriesOf([heldRow!]);
    const [failed] = await entriesOf([failedRow!]);
    await claim([failed!.id]);
    await settle({ failed: [{ id: failed!.id, reason: 'cannot be built' }] });
    await claim([held!.id]);
    expect((await db.query('select tidings.replay(array[$1::bigint, $2::bigint]) as n', [held!.id, failed!.id])).rows[0].n).toBe(1);
    // The held entry keeps its lease and its attempt: no second deliverer can take it meanwhile.
    expect(await stateOf(held!.id)).toMatchObject({ attempts: 1, failed: false, held: true });
    expect(await claim([held!.id])).toEqual([]);
    expect(await stateOf(failed!.id)).toMatchObject({ attempts: 0, failure_reason: null, failed: false, held: null });
  });

  it('names the last publish error of an entry given up on after its deliverer stopped, and a webhook claim gives up on it too', async () => {
    await drain();
    const [crashing, next] = await insertedAndChanged('Flaky then crashing', 'update emails set read_at = now() where id = $1');
    await claim([crashing.id]);
    await settle({ retry: [{ id: crashing.id, error: 'Pusher answered 500' }] });
    for (let attempt = 2; attempt <= 3; attempt++) {
      await claim([crashing.id]);
      await expireLease(crashing.id);
    }
    // The UPDATE's webhook brings the row's earlier INSERT along; that one is out of attempts.
    expect((await claim([next.id])).map((entry) => entry.id)).toEqual([next.id]);
    expect(await stateOf(crashing.id)).toMatchObject({
      failure_reason: 'gave up after 3 attempts: the deliverer stopped before recording an outcome (last error: Pusher answered 500)',
      failed: true,
    });
  });

  it('returns a poison row as it is, and once it is settled failed, the entries after it all the same', async () => {
    await drain();
    const [poison] = await insertEmails(1, 'Poison');
    await db.query(`update emails set created_at = '-infinity' where id = $1`, [poison]);
    const after = await insertEmails(200, 'After poison');
    const due = await claimDue(1000);
    expect(due).toHaveLength(201);
    expect(due[0]).toMatchObject({ row_id: poison, record: { created_at: '-infinity' } });
    expect(
      await settle({
        failed: [{ id: due[0]!.id, reason: 'created_at: not a finite timestamp' }],
        delivered: due.slice(1).map((e) => e.id),
      }),
    ).toEqual({
      delivered: 200,
      failed: 1,
      retried: 0,
    });
    expect(
      due
        .slice(1)
        .map((entry) => entry.row_id)
        .sort(),
    ).toEqual([...after].sort());
    const { rows } = await db.query('select failure_reason from tidings.outbox where id = $1', [due[0]!.id]);
    expect(rows).toEqual([{ failure_reason: 'created_at: not a finite timestamp' }]);
    // Failed, it blocks nothing: the next claim finds nothing left of that burst.
    expect(await claimDue(1000)).toEqual([]);
  });

  it('records a cron run, prunes delivered entries past the retention, and reports delivery for operators', async () => {
    await drain();
    await db.query(`update tidings.outbox set delivered_at = now() - interval '8 days' where delivered_at is not null`);
    const kept = await insertEmails(2, 'Pending');
    const pruned = await asService<number>(
      `select public.tidings_record_cron_run('{"started_at": "2026-12-04T10:00:00Z", "claimed": 3, "published": 2, "failed": 1, "remaining": false}', 168)`,
    );
    expect(pruned).toBeGreaterThan(0);
    expect((await db.query('select count(*)::int as n from tidings.outbox where delivered_at is not null')).rows[0].n).toBe(0);
    const status = await asService<Record<string, unknown>>('select public.tidings_delivery_status(10)');
    expect(status).toMatchObject({
      undelivered: 2,
      oldest_undelivered_at: expect.any(String),
      failed_count: (await db.query('select count(*)::int as n from tidings.outbox where failed_at is not null')).rows[0].n,
      last_cron_run: { claimed: 3, published: 2, failed: 1, pruned, remaining: false, started_at: '2026-12-04T10:00:00+00:00' },
    });
    const oldest = (await db.query<{ at: Date }>('select min(created_at) as at from tidings.outbox where row_id = any($1)', [kept]))
      .rows[0]!.at;
    expect(Date.parse(status.oldest_undelivered_at as string)).toBe(oldest.getTime());
  });

  it('replays only failed entries through the admins’ wrapper, all or none, naming the ids it cannot replay', async () => {
    await drain();
    const [failedRow, pendingRow, deliveredRow] = await insertEmails(3, 'Replay');
    const [failed] = await entriesOf([failedRow!]);
    const [pending] = await entriesOf([pendingRow!]);
    const [delivered] = await entriesOf([deliveredRow!]);
    await claim([failed!.id, pending!.id, delivered!.id]);
    await settle({ failed: [{ id: failed!.id, reason: 'broken' }], delivered: [delivered!.id] });
    const unknown = (await db.query('select max(id)::int + 1000 as id from tidings.outbox')).rows[0].id as number;
    const replay = (ids: number[]) =>
      asService<{ replayed: number; not_found: number[]; pending: number[]; delivered: number[] }>('select public.tidings_replay($1)', [
        ids,
      ]);
    const states = async () =>
      (
        await db.query(
          'select id::int, failed_at is not null as failed, attempts, claimed_until is not null as held from tidings.outbox where id = any($1) order by id',
          [[failed!.id, pending!.id]],
        )
      ).rows;
    const before = await states();

    // A pending one may be held by a deliverer; a delivered one has nothing to replay; an unknown id
    // is a typo. Each is named, and the failed entry named beside them is left as it was.
    expect(await replay([unknown, delivered!.id, pending!.id, failed!.id, unknown])).toEqual({
      replayed: 0,
      not_found: [unknown],
      pending: [pending!.id],
      delivered: [delivered!.id],
    });
    expect(await states()).toEqual(before);

    expect(await replay([failed!.id, failed!.id])).toEqual({ replayed: 1, not_found: [], pending: [], delivered: [] });
    expect(await states()).toEqual(
      [
        { id: failed!.id, failed: false, attempts: 0, held: false },
        { id: pending!.id, failed: false, attempts: 1, held: true },
      ].sort((a, b) => a.id - b.id),
    );
    // Replayed, it is pending: a second replay says so instead of counting nothing.
    expect(await replay([failed!.id])).toEqual({ replayed: 0, not_found: [], pending: [failed!.id], delivered: [] });
  });

  it('attaches the observer to a new table in one idempotent line, and broadcasts its inserts, updates and deletes', async () => {
    await db.query('create table public.notes (id bigint generated always as identity primary key, text text not null, seen boolean)');
    await db.query(`select tidings.observe('public.notes')`);
    await db.query(`select tidings.observe('public.notes', broadcast_columns => array['text'])`);
    const { rows } = await db.query(`insert into notes (text) values ('one'), ('two') returning id`);
    await db.query(`update notes set seen = true`);
    await db.query(`update notes set text = 'uno' where id = $1`, [rows[0].id]);
    await db.query('delete from notes where id = $1', [rows[1].id]);
    const entries = await db.query(
      `select operation, row_id, changed_columns, old_record from tidings.outbox where table_name = 'public.notes' order by id`,
    );
    expect(entries.rows).toEqual([
      { operation: 'INSERT', row_id: String(rows[0].id), changed_columns: null, old_record: null },
      { operation: 'INSERT', row_id: String(rows[1].id), changed_columns: null, old_record: null },
      { operation: 'UPDATE', row_id: String(rows[0].id), changed_columns: ['text'], old_record: null },
      {
        operation: 'DELETE',
        row_id: String(rows[1].id),
        changed_columns: null,
        old_record: { id: Number(rows[1].id), text: 'two', seen: true },
      },
    ]);
    const triggers = await db.query(`select tgname from pg_trigger where tgrelid = 'public.notes'::regclass order by 1`);
    expect(triggers.rows.map((row) => row.tgname)).toEqual([
      'tidings_observe_deletes',
      'tidings_observe_inserts',
      'tidings_observe_updates',
    ]);
    await expect(db.query(`select tidings.observe('public.notes', broadcast_columns => array['nope'])`)).rejects.toThrow(
      'tidings.observe(public.notes): public.notes has no column "nope"',
    );
    await db.query(`select tidings.unobserve('public.notes')`);
    await db.query(`insert into notes (text) values ('unobserved')`);
    expect((await db.query(`select count(*)::int as n from tidings.outbox where table_name = 'public.notes'`)).rows[0].n).toBe(4);
  });

  it('reads claimed rows through the table’s reader, which follows a read_from view replaced under its name and goes with unobserve', async () => {
    await db.query('create table public.memos (id bigint generated always as identity primary key, text text not null)');
    await db.query('create view public.memo_view as select id, text from public.memos');
    await db.query(`select tidings.observe('public.memos', read_from => 'public.memo_view')`);
    const reader = `tidings."rows of public.memos"(tidings.outbox[])`;
    expect((await db.query('select to_regprocedure($1) is not null as exists', [reader])).rows[0].exists).toBe(true);
    const latestEntry = async () =>
      Number((await db.query(`select max(id) as id from tidings.outbox where table_name = 'public.memos'`)).rows[0].id);

    const { rows: first } = await db.query(`insert into memos (text) values ('quiet') returning id`);
    const [claimedFirst] = await claim([await latestEntry()]);
    expect(claimedFirst!.record).toEqual({ id: Number(first[0].id), text: 'quiet' });

    // The same connection claims again after the view changed: its kept plan must not read the old view.
    await db.query(`create or replace view public.memo_view as select id, text, upper(text) as loud from public.memos`);
    const { rows: second } = await db.query(`insert into memos (text) values ('hello') returning id`);
    const [claimedSecond] = await claim([await latestEntry()]);
    expect(claimedSecond!.record).toEqual({ id: Number(second[0].id), text: 'hello', loud: 'HELLO' });

    await db.query(`select tidings.unobserve('public.memos')`);
    expect((await db.query('select to_regprocedure($1) is not null as exists', [reader])).rows[0].exists).toBe(false);
    await drain();
  });

  it('gives tables whose names reach Postgres’s 63-byte limit readers of their own', async () => {
    // "rows of public.<60 characters>" would be cut at 63 bytes, and these two would then end alike.
    const names = ['one', 'two'].map((suffix) => `${'long_table_name_'.repeat(4).slice(0, 56)}_${suffix}`);
    for (const name of names) {
      await db.query(`create table public.${name} (id bigint generated always as identity primary key, label text not null)`);
      await db.query(`select tidings.observe('public.${name}')`);
      await db.query(`insert into public.${name} (label) values ($1)`, [name]);
    }
    const { rows } = await db.query(`select id::int from tidings.outbox where table_name = any($1) order by id`, [
      names.map((name) => `public.${name}`),
    ]);
    const claimed = await claim(rows.map((row) => row.id));
    expect(claimed.map((entry) => [entry.table_name, (entry.record as { label: string }).label])).toEqual(
      names.map((name) => [`public.${name}`, name]),
    );
    await drain();
  });

  it('lets neither the API roles nor browsers reach the outbox or its functions', async () => {
    for (const role of ['anon', 'authenticated']) {
      await db.query('begin');
      try {
        await db.query(`set local role ${role}`);
        await expect(db.query('select public.tidings_delivery_status(1)')).rejects.toThrow(/permission denied/);
      } finally {
        await db.query('rollback');
      }
      await db.query('begin');
      try {
        await db.query(`set local role ${role}`);
        await expect(db.query('select * from tidings.outbox')).rejects.toThrow(/permission denied/);
      } finally {
        await db.query('rollback');
      }
    }
    const callable = await db.query(
      `select r.role, n.nspname || '.' || p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       cross join unnest(array['anon', 'authenticated']) as r(role)
       where (n.nspname = 'tidings' or (n.nspname = 'public' and p.proname like 'tidings\\_%'))
         and has_function_privilege(r.role, p.oid, 'execute')`,
    );
    expect(callable.rows).toEqual([]);
  });
});
