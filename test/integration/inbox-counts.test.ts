import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestSupabase } from '../support/node/local-supabase.ts';
import { startStack } from '../support/node/stack.ts';
import type { RunningWorker } from '../support/node/worker.ts';
import { seedUsers } from '../support/seed-users.ts';

// The unread count the page shows in its badge, title and list header comes from the database, not
// from the rows a page happens to have loaded.
describe('GET /api/emails: the unread count', () => {
  let supabase: TestSupabase;
  let worker: RunningWorker;
  let db: pg.Client;
  let adaToken: string;

  beforeAll(async () => {
    ({ supabase, worker } = await startStack());
    db = await supabase.connect();
    adaToken = await supabase.accessToken(seedUsers.ada);
  });
  afterAll(async () => {
    await worker?.stop();
    await supabase?.destroy();
  });

  async function inbox(query = ''): Promise<{ emails: Array<{ id: string }>; unread_count: number }> {
    const response = await fetch(`${worker.url}/api/emails${query}`, { headers: { Authorization: `Bearer ${adaToken}` } });
    expect(response.status).toBe(200);
    return (await response.json()) as { emails: Array<{ id: string }>; unread_count: number };
  }

  /** Inserts emails as an import would, without waking the observer for each (this test counts, it does not deliver). */
  async function importEmails(recipientId: string, count: number, read: boolean): Promise<void> {
    await db.query('begin');
    await db.query('set local session_replication_role = replica');
    await db.query(
      `insert into public.emails (sender_id, recipient_id, subject, body, read_at)
       select $1, $2, 'Imported ' || n, 'Body', case when $4 then now() end from generate_series(1, $3::int) n`,
      [seedUsers.admin.id, recipientId, count, read],
    );
    await db.query('commit');
  }

  it('counts every unread email of the caller, with 10,000 in the inbox, whatever page is asked for', async () => {
    await importEmails(seedUsers.ada.id, 10_000, false);
    await importEmails(seedUsers.ada.id, 300, true);
    await importEmails(seedUsers.grace.id, 50, false); // someone else's
    const first = await inbox('?limit=50');
    expect(first.emails).toHaveLength(50);
    expect(first.unread_count).toBe(10_000);
    const older = await inbox(`?limit=10&before=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(older.unread_count).toBe(10_000);

    const { rows } = await db.query<{ id: string }>('select id from public.emails where recipient_id = $1 and read_at is null limit 1', [
      seedUsers.ada.id,
    ]);
    const { id } = rows[0]!;
    expect(
      (await fetch(`${worker.url}/api/emails/${id}/read`, { method: 'PATCH', headers: { Authorization: `Bearer ${adaToken}` } })).status,
    ).toBe(200);
    expect((await inbox('?limit=1')).unread_count).toBe(9_999);
  });

  it('can be answered by an index-only scan of the partial unread index', async () => {
    // Here one inbox holds nearly every row, so the planner would rightly read the table instead;
    // with many users it takes the index. Forbid the table scan to see that the index serves the query.
    await db.query('vacuum analyze public.emails'); // as autovacuum would have by now: the visibility map lets it skip the table
    await db.query('begin');
    await db.query('set local enable_seqscan = off');
    const { rows } = await db.query<{ 'QUERY PLAN': unknown }>(
      `explain (format json) select count(*) from public.emails where recipient_id = $1 and read_at is null`,
      [seedUsers.ada.id],
    );
    await db.query('commit');
    const plan = JSON.stringify(rows[0]!['QUERY PLAN']);
    expect(plan).toContain('"Index Name":"emails_unread_by_recipient"');
    expect(plan).toContain('"Node Type":"Index Only Scan"');
  });
});

describe('POST /api/emails/mark-all-read', () => {
  let supabase: TestSupabase;
  let worker: RunningWorker;
  let db: pg.Client;
  const tokens: Record<'ada' | 'grace', string> = { ada: '', grace: '' };

  beforeAll(async () => {
    ({ supabase, worker } = await startStack());
    db = await supabase.connect();
    for (const name of ['ada', 'grace'] as const) tokens[name] = await supabase.accessToken(seedUsers[name]);
  });
  afterAll(async () => {
    await worker?.stop();
    await supabase?.destroy();
  });

  function post(path: string, token: string, body: unknown): Promise<Response> {
    return fetch(`${worker.url}/api/emails${path}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  async function unread(recipientId: string): Promise<number> {
    const { rows } = await db.query<{ n: number }>(
      'select count(*)::int as n from public.emails where recipient_id = $1 and read_at is null',
      [recipientId],
    );
    return rows[0]!.n;
  }

  it('marks every unread email up to the newest shown read in one statement, keeps newer ones and others’ unread, and undoes exactly that', async () => {
    const insert = (recipientId: string, count: number, createdAt: string) =>
      db.query(
        `insert into public.emails (sender_id, recipient_id, subject, body, created_at)
         select $1, $2, 'Mail ' || n, 'Body', $4::timestamptz from generate_series(1, $3::int) n`,
        [seedUsers.admin.id, recipientId, count, createdAt],
      );
    await insert(seedUsers.ada.id, 60, '2026-12-01T10:00:00Z');
    await insert(seedUsers.ada.id, 5, '2026-12-01T11:00:00Z'); // the newest the page shows
    await insert(seedUsers.ada.id, 7, '2026-12-01T12:00:00Z'); // arrived after the page loaded
    await insert(seedUsers.grace.id, 4, '2026-12-01T10:00:00Z');
    // One Ada had read already keeps its own read time.
    const { rows: earlier } = await db.query<{ id: string; read_at: Date }>(
      `update public.emails set read_at = '2026-12-01T10:30:00Z' where id = (select id from public.emails where recipient_id = $1 and created_at = '2026-12-01T10:00:00Z' limit 1) returning id, read_at`,
      [seedUsers.ada.id],
    );

    await supabase.webhooksIdle();
    const webhooks = async () => (await db.query<{ n: number }>('select count(*)::int as n from net._http_response')).rows[0]!.n;
    const webhooksBefore = await webhooks();
    const response = await post('/mark-all-read', tokens.ada, { up_to: '2026-12-01T11:00:00Z' });
    expect(response.status).toBe(200);
    const marked = (await response.json()) as { marked: number; read_at: string; unread_count: number };
    expect(marked.marked).toBe(64);
    // The count after the statement, for pages whose own events for these emails came first.
    expect(marked.unread_count).toBe(7);
    expect(await unread(seedUsers.ada.id)).toBe(7);
    expect(await unread(seedUsers.grace.id)).toBe(4);
    const { rows: same } = await db.query<{ n: number }>('select count(*)::int as n from public.emails where read_at = $1', [
      marked.read_at,
    ]);
    expect(same[0]!.n).toBe(64);
    // One UPDATE statement: the model observer sends one webhook for its 64 changes.
    await supabase.webhooksIdle();
    expect((await webhooks()) - webhooksBefore).toBe(1);

    const undo = await post('/mark-all-read/undo', tokens.ada, { read_at: marked.read_at });
    expect(await undo.json()).toEqual({ unmarked: 64, unread_count: 71 });
    expect(await unread(seedUsers.ada.id)).toBe(71);
    const { rows: still } = await db.query<{ read_at: Date }>('select read_at from public.emails where id = $1', [earlier[0]!.id]);
    expect(still[0]!.read_at).toEqual(earlier[0]!.read_at);

    // Grace's own undo with Ada's time touches nothing of Ada's.
    expect(await (await post('/mark-all-read/undo', tokens.grace, { read_at: marked.read_at })).json()).toEqual({
      unmarked: 0,
      unread_count: 4,
    });
  });

  it('answers 400 naming the field for a missing or malformed cursor', async () => {
    const missing = await post('/mark-all-read', tokens.ada, {});
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: string }).error).toContain('up_to');
    const malformed = await post('/mark-all-read/undo', tokens.ada, { read_at: 'yesterday' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: string }).error).toContain('read_at');
  });

  it('answers 400, not 500, to a valid local time that is in year 0 or 10000 in UTC', async () => {
    // The undo turns read_at into UTC text for the database: 0000-12-31T10:00:00.000Z and
    // +010000-01-01T13:59:59.000Z, which Postgres refuses.
    for (const time of ['0001-01-01T00:00:00+14:00', '9999-12-31T23:59:59-14:00']) {
      for (const [path, field] of [
        ['/mark-all-read/undo', 'read_at'],
        ['/mark-all-read', 'up_to'],
      ] as const) {
        const response = await post(path, tokens.ada, { [field]: time });
        expect(response.status, `${path} ${time}`).toBe(400);
        expect(((await response.json()) as { error: string }).error).toBe(
          `Invalid request body: ${field}: the time must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z in UTC`,
        );
      }
    }
  });
});
