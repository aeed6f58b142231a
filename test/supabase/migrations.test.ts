import { readdirSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalSupabase } from '../../supabase/local/index.ts';
import { applyMigrations, splitStatements } from '../../supabase/local/migrations.ts';
import { startTestSupabase, type TestSupabase } from '../support/node/local-supabase.ts';
import { seedUsers } from '../support/seed-users.ts';

describe('local Supabase database', () => {
  let supabase: TestSupabase;
  let db: pg.Client;

  beforeAll(async () => {
    supabase = await startTestSupabase();
    db = await supabase.connect();
  });
  afterAll(async () => {
    // The restart test opens its own connection to the restarted Postgres; destroy closes only the first.
    await db?.end();
    await supabase?.destroy();
  });

  it('applies every migration in order and records it as the Supabase CLI does', async () => {
    // Every file of supabase/migrations/, in the order of their names (their timestamps).
    const files = readdirSync(new URL('../../supabase/migrations/', import.meta.url))
      .filter((name) => name.endsWith('.sql'))
      .sort();
    expect(files.length).toBeGreaterThanOrEqual(8);
    expect(files[0]).toBe('20261128020000_profiles_and_emails.sql');
    expect(supabase.migrations.applied).toEqual(files);
    const { rows } = await db.query('select version, name, statements from supabase_migrations.schema_migrations order by version');
    expect(rows.map((row) => `${row.version}_${row.name}.sql`)).toEqual(files);
    expect(rows[0].statements).toContain('alter table public.emails enable row level security');
  });

  it('seeds the admin and two users once, each with a profile, as test/support/seed-users.ts lists them', async () => {
    expect(supabase.migrations.seeded).toBe(true);
    const { rows } = await db.query('select id, email, display_name as name, role from public.profiles order by email');
    expect(rows).toEqual([
      { id: seedUsers.ada.id, email: seedUsers.ada.email, name: seedUsers.ada.name, role: 'user' },
      { id: seedUsers.admin.id, email: seedUsers.admin.email, name: seedUsers.admin.name, role: 'admin' },
      { id: seedUsers.grace.id, email: seedUsers.grace.email, name: seedUsers.grace.name, role: 'user' },
    ]);
  });

  it('treats re-running the migrations and the seed as a no-op', async () => {
    const before = await db.query('select count(*)::int as n from auth.users');
    expect(await applyMigrations(db)).toEqual({ applied: [], seeded: false });
    const after = await db.query('select count(*)::int as n from auth.users');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('enables row level security on every public table', async () => {
    const { rows } = await db.query(`select relname, relrowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace
                                     where n.nspname = 'public' and relkind = 'r' order by relname`);
    expect(rows).toEqual([
      { relname: 'announcements', relrowsecurity: true },
      { relname: 'emails', relrowsecurity: true },
      { relname: 'profiles', relrowsecurity: true },
    ]);
  });

  it('lets the API roles call no function in private but is_admin, which the policies need', async () => {
    const { rows } = await db.query<{ role: string; name: string }>(
      `select r.role, p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       cross join unnest(array['anon', 'authenticated']) as r(role)
       where n.nspname = 'private' and has_function_privilege(r.role, p.oid, 'execute') order by 1, 2`,
    );
    expect(rows).toEqual([{ role: 'authenticated', name: 'is_admin' }]);
  });

  it('still creates a profile for a user that a role without EXECUTE on the trigger function inserts', async () => {
    // Supabase Auth inserts as its own role; the trigger must fire for it all the same.
    await db.query('begin');
    try {
      await db.query(
        `create role tidings_auth_test; grant usage on schema auth to tidings_auth_test; grant insert on auth.users to tidings_auth_test`,
      );
      await db.query('set local role tidings_auth_test');
      const id = crypto.randomUUID();
      await db.query(
        `insert into auth.users (id, email, raw_app_meta_data, raw_user_meta_data) values ($1, 'trigger@tidings.test', '{}', '{}')`,
        [id],
      );
      await db.query('reset role');
      expect((await db.query('select email from public.profiles where id = $1', [id])).rows).toEqual([{ email: 'trigger@tidings.test' }]);
    } finally {
      await db.query('rollback');
    }
  });

  it('keeps the webhook settings where the API roles cannot read them', async () => {
    await db.query('begin');
    try {
      await db.query('set local role authenticated');
      await expect(db.query('select * from private.settings')).rejects.toThrow(/permission denied/);
    } finally {
      await db.query('rollback');
    }
  });

  it('lets only the service role read email_announcements: the body’s start, whitespace collapsed, and the sender’s name', async () => {
    await db.query('begin');
    try {
      const { rows } = await db.query<{ id: string }>(
        `insert into emails (sender_id, recipient_id, subject, body) values ($1, $2, 'Long', $3) returning id`,
        [seedUsers.admin.id, seedUsers.ada.id, `Dear   Ada,\n\n${'word '.repeat(3900)}`],
      );
      for (const role of ['anon', 'authenticated']) {
        await db.query('savepoint as_api_role');
        await db.query(`set local role ${role}`);
        await expect(db.query('select * from email_announcements')).rejects.toThrow(/permission denied/);
        await db.query('rollback to savepoint as_api_role');
      }
      await db.query('set local role service_role');
      const announced = await db.query('select body_start, sender_name from email_announcements where id = $1', [rows[0]!.id]);
      expect(announced.rows[0].sender_name).toBe(seedUsers.admin.name);
      expect(announced.rows[0].body_start).toHaveLength(400);
      expect(announced.rows[0].body_start.startsWith('Dear Ada, word word ')).toBe(true);
    } finally {
      await db.query('rollback');
    }
  });

  it('uses the indexes for "my inbox, newest first" and "pending outbox entries, oldest first"', async () => {
    await db.query('set enable_seqscan = off');
    const inbox = await db.query(`explain select * from emails where recipient_id = $1 order by created_at desc limit 50`, [
      seedUsers.ada.id,
    ]);
    const pending = await db.query(
      `explain select * from tidings.outbox where delivered_at is null and failed_at is null order by id limit 100`,
    );
    await db.query('reset enable_seqscan');
    expect(inbox.rows.map((row) => row['QUERY PLAN']).join('\n')).toContain('emails_recipient_id_created_at_idx');
    expect(pending.rows.map((row) => row['QUERY PLAN']).join('\n')).toContain('outbox_pending_idx');
  });

  it('keeps the data across a restart', async () => {
    const inserted = await db.query(
      `insert into emails (sender_id, recipient_id, subject, body) values ($1, $2, 'Kept', 'Across a restart') returning id`,
      [seedUsers.admin.id, seedUsers.grace.id],
    );
    await db.end();
    await supabase.stop();

    const restarted = await startLocalSupabase({ dataDir: supabase.dataDir, dbPort: supabase.dbPort, apiPort: 0 });
    db = new pg.Client({ connectionString: restarted.databaseUrl });
    await db.connect();
    const removeDataDir = supabase.destroy;
    supabase = {
      ...supabase,
      ...restarted,
      destroy: async () => {
        await restarted.stop();
        await removeDataDir();
      },
    };
    expect(restarted.migrations).toEqual({ applied: [], seeded: false });
    const { rows } = await db.query('select subject from emails where id = $1', [inserted.rows[0].id]);
    expect(rows).toEqual([{ subject: 'Kept' }]);
  });
});

describe('splitStatements', () => {
  it('splits on semicolons outside quotes, dollar quotes and comments', () => {
    const sql = `-- a comment; not a statement\ncreate table t (a text default 'x;y');\ncreate function f() returns int language sql as $$ select 1; $$;\n-- trailing`;
    expect(splitStatements(sql)).toEqual([
      `-- a comment; not a statement\ncreate table t (a text default 'x;y')`,
      'create function f() returns int language sql as $$ select 1; $$',
    ]);
  });
});
