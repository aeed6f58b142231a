import { readFileSync } from 'node:fs';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../supabase/local/migrations.ts';
import { startTestSupabase, type TestSupabase } from '../support/node/local-supabase.ts';
import { startWebhookReceiver, verifyWebhookSignature, type WebhookReceiver } from '../support/node/webhook-receiver.ts';
import { seedUsers } from '../support/seed-users.ts';

const secret = 'test-webhook-secret';
const migration = readFileSync(new URL('../../supabase/migrations/20261203113000_net_closed_to_api_roles.sql', import.meta.url), 'utf8');
const API_ROLES = ['anon', 'authenticated'] as const;

/** Every privilege the role holds in schema net (on the schema, or on one of its objects), as `kind name`. */
const OPEN_TO_ROLE = `
  select 'schema net' as object where has_schema_privilege($1, 'net', 'usage')
  union all
  select case c.relkind when 'S' then 'sequence ' else 'table ' end || c.oid::regclass from pg_class c
  where c.relnamespace = 'net'::regnamespace
    and case c.relkind
      when 'S' then has_sequence_privilege($1, c.oid, 'usage, select, update')
      when 'i' then false
      else has_table_privilege($1, c.oid, 'select, insert, update, delete, truncate')
    end
  union all
  select 'function ' || p.oid::regprocedure from pg_proc p
  where p.pronamespace = 'net'::regnamespace and has_function_privilege($1, p.oid, 'execute')
  order by 1`;

describe('pg_net (schema net) is closed to the API roles', () => {
  let supabase: TestSupabase;
  let receiver: WebhookReceiver;
  let psql: pg.Client;

  const client = (key: string) => createClient(supabase.apiUrl, key, { auth: { persistSession: false, autoRefreshToken: false } });
  async function signedIn(user: { email: string; password: string }): Promise<SupabaseClient> {
    const signed = client(supabase.anonKey);
    const { error } = await signed.auth.signInWithPassword({ email: user.email, password: user.password });
    expect(error).toBeNull();
    return signed;
  }

  /** Runs `work` as `role` in a transaction that is rolled back. */
  async function asRole<T>(role: string, work: () => Promise<T>): Promise<T> {
    await psql.query('begin');
    try {
      await psql.query(`set local role ${role}`);
      return await work();
    } finally {
      await psql.query('rollback');
    }
  }

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    supabase = await startTestSupabase({ webhookUrl: receiver.url, webhookSecret: secret });
    psql = await supabase.connect();
  });
  afterAll(async () => {
    await supabase?.destroy();
    await receiver?.close();
  });

  it('has the tables, sequence and functions of pg_net’s interface (what the rest of this file closes)', async () => {
    const { rows } = await psql.query<{ object: string }>(OPEN_TO_ROLE, ['postgres']);
    expect(rows.map((row) => row.object)).toEqual(
      expect.arrayContaining([
        'schema net',
        'table net._http_response',
        'table net.http_request_queue',
        'sequence net.http_request_queue_id_seq',
        'function net.http_get(text,jsonb,jsonb,integer)',
        'function net.http_post(text,jsonb,jsonb,jsonb,integer)',
        'function net.http_delete(text,jsonb,jsonb,integer,jsonb)',
      ]),
    );
  });

  it.each(API_ROLES)('lets %s use nothing in schema net: no schema usage, table, sequence or function', async (role) => {
    const { rows } = await psql.query<{ object: string }>(OPEN_TO_ROLE, [role]);
    expect(rows).toEqual([]);
  });

  it.each(API_ROLES)('refuses %s reading the queue and the responses, queueing, and calling net.http_*', async (role) => {
    const statements = [
      'select * from net.http_request_queue',
      'select * from net._http_response',
      `insert into net.http_request_queue (method, url, headers, timeout_milliseconds) values ('GET', 'http://127.0.0.1:9/', '{}', 1000)`,
      `select nextval('net.http_request_queue_id_seq')`,
      `select net.http_post(url := 'http://127.0.0.1:9/', body := '{"x": 1}'::jsonb)`,
      `select net.http_get(url := 'http://127.0.0.1:9/')`,
      `select net.http_delete(url := 'http://127.0.0.1:9/')`,
      'select net._http_collect_response(1)',
      'select net.worker_restart()',
    ];
    for (const sql of statements) {
      await asRole(role, async () => {
        await expect(psql.query(sql), sql).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/permission denied/) });
      });
    }
  });

  it('refuses the API roles through /rest/v1 too: net is not exposed, and a view in public reaching into it is denied', async () => {
    const ada = await signedIn(seedUsers.ada);
    const anon = client(supabase.anonKey);
    for (const caller of [anon, ada]) {
      const direct = await caller.schema('net').from('http_request_queue').select('*');
      expect(direct.status).toBe(406);
      expect(direct.error?.code).toBe('PGRST106');
    }
    // Someone adds a security-invoker view in public over the queue and grants it to the API roles.
    await psql.query(`create view public.queued_requests with (security_invoker = true) as select * from net.http_request_queue`);
    await psql.query('grant select on public.queued_requests to anon, authenticated');
    try {
      const asAnon = await anon.from('queued_requests').select('*');
      expect(asAnon).toMatchObject({
        status: 401,
        data: null,
        error: { code: '42501', message: 'permission denied for table http_request_queue' },
      });
      const asAda = await ada.from('queued_requests').select('*');
      expect(asAda).toMatchObject({
        status: 403,
        data: null,
        error: { code: '42501', message: 'permission denied for table http_request_queue' },
      });
    } finally {
      await psql.query('drop view public.queued_requests');
    }
  });

  it('lets the service role read the queue and call net.http_post, and postgres too', async () => {
    for (const role of ['service_role', 'postgres']) {
      await asRole(role, async () => {
        const queued = await psql.query(`select net.http_post(url := 'http://127.0.0.1:9/', body := '{"x": 1}'::jsonb) as id`);
        expect(Number(queued.rows[0].id)).toBeGreaterThan(0);
        const { rows } = await psql.query('select url from net.http_request_queue where id = $1', [queued.rows[0].id]);
        expect(rows).toEqual([{ url: 'http://127.0.0.1:9/' }]);
        await psql.query('select count(*) from net._http_response');
      });
    }
  });

  it('still sends the signed webhooks of changes an authenticated user makes through /rest/v1', async () => {
    await supabase.webhooksIdle();
    receiver.received.length = 0;
    const admin = await signedIn(seedUsers.admin);
    const inserted = await admin
      .from('emails')
      .insert({ sender_id: seedUsers.admin.id, recipient_id: seedUsers.ada.id, subject: 'Through pg_net', body: 'Hello' })
      .select('id')
      .single();
    expect(inserted.error).toBeNull();
    const ada = await signedIn(seedUsers.ada);
    const read = await ada.from('emails').update({ read_at: new Date().toISOString() }).eq('id', inserted.data!.id);
    expect(read.error).toBeNull();

    const webhooks = await receiver.waitFor(2);
    expect(webhooks.map((webhook) => JSON.parse(webhook.body).type).sort()).toEqual(['INSERT', 'UPDATE']);
    for (const webhook of webhooks) expect(verifyWebhookSignature(webhook.headers, webhook.body, secret)).toBe(true);
  });

  it('stays closed when the start-up SQL and the migrations run again (every start)', async () => {
    expect(await applyMigrations(psql, { seedFile: null })).toEqual({ applied: [], seeded: false });
    await psql.query(migration);
    for (const role of API_ROLES) {
      expect((await psql.query(OPEN_TO_ROLE, [role])).rows).toEqual([]);
    }
  });
});

describe('the migration 20261203113000_net_closed_to_api_roles elsewhere', () => {
  let supabase: TestSupabase;
  let admin: pg.Client;

  beforeAll(async () => {
    supabase = await startTestSupabase({ seed: false });
    admin = await supabase.connect();
    // A non-superuser migration role (as postgres is on hosted Supabase) and an owner of pg_net
    // that it is not a member of (as supabase_admin is there). The API roles are cluster-wide.
    await admin.query(`create role tidings_migrator; create role tidings_pg_net_owner;
                       create role supabase_functions_admin`);
  });
  afterAll(async () => {
    await supabase?.destroy();
  });

  /** A fresh database, with pg_net’s objects and grants (installed by `owner`) unless `owner` is null. */
  async function database(name: string, owner: string | null): Promise<pg.Client> {
    await admin.query(`create database ${name}`);
    await admin.query(`grant create on database ${name} to tidings_migrator, tidings_pg_net_owner`);
    const db = new pg.Client({ connectionString: supabase.databaseUrl.replace(/\/postgres$/, `/${name}`) });
    await db.connect();
    if (owner) {
      await db.query(`set role ${owner}`);
      // The shape and grants of pg_net 0.19: the queue and responses, net.http_post, all to PUBLIC.
      await db.query(`
        create schema net;
        create unlogged table net.http_request_queue (id bigserial, method text not null, url text not null,
          headers jsonb, body bytea, timeout_milliseconds int not null);
        create unlogged table net._http_response (id bigint, status_code int, content text, created timestamptz not null default now());
        create function net.http_post(url text, body jsonb default '{}', params jsonb default '{}',
            headers jsonb default '{}', timeout_milliseconds int default 5000) returns bigint language sql
          as $f$ insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
                 values ('POST', url, headers, convert_to(body::text, 'UTF8'), timeout_milliseconds) returning id $f$;
        grant usage on schema net to public;
        grant all on all sequences in schema net to public;
        grant all on all tables in schema net to public;
        -- What Supabase's event trigger adds when pg_net is created.
        grant usage on schema net to postgres, anon, authenticated, service_role, supabase_functions_admin;
        reset role`);
    }
    return db;
  }

  async function migrate(db: pg.Client): Promise<string[]> {
    const messages: string[] = [];
    const listener = (notice: { severity?: string; message?: string }) => messages.push(`${notice.severity}: ${notice.message}`);
    db.on('notice', listener);
    try {
      await db.query('set role tidings_migrator');
      await db.query(migration);
      await db.query('reset role');
    } finally {
      db.off('notice', listener);
    }
    return messages;
  }

  it('does nothing but say so where pg_net is not installed', async () => {
    const db = await database('tidings_no_pg_net', null);
    try {
      expect(await migrate(db)).toEqual(['NOTICE: tidings: no schema net (pg_net is not installed): nothing to revoke']);
    } finally {
      await db.end();
    }
  });

  it('changes nothing where another role owns pg_net (hosted Supabase), and warns what the API roles can still use', async () => {
    const db = await database('tidings_hosted', 'tidings_pg_net_owner');
    try {
      const before = await db.query(OPEN_TO_ROLE, ['anon']);
      const messages = await migrate(db);
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatch(/^WARNING: tidings: 5 of the objects in schema net belong to a role tidings_migrator cannot act for/);
      expect(messages[0]).toContain('anon: net.http_request_queue');
      expect(messages[0]).toContain('authenticated: net.http_post(text,jsonb,jsonb,jsonb,integer)');
      expect((await db.query(OPEN_TO_ROLE, ['anon'])).rows).toEqual(before.rows);
      // Running it again is as harmless.
      expect(await migrate(db)).toHaveLength(1);
    } finally {
      await db.end();
    }
  });

  it('closes net to the API roles where the migration role owns pg_net, keeping it for service_role and Database Webhooks', async () => {
    const db = await database('tidings_owned', 'tidings_migrator');
    try {
      expect(await migrate(db)).toEqual([]);
      for (const role of API_ROLES) expect((await db.query(OPEN_TO_ROLE, [role])).rows).toEqual([]);
      for (const role of ['service_role', 'supabase_functions_admin']) {
        expect((await db.query(OPEN_TO_ROLE, [role])).rows.map((row) => row.object)).toEqual([
          'function net.http_post(text,jsonb,jsonb,jsonb,integer)',
          'schema net',
          'sequence net.http_request_queue_id_seq',
          'table net._http_response',
          'table net.http_request_queue',
        ]);
        await db.query(`begin; set local role ${role}`);
        await db.query(`select net.http_post('http://127.0.0.1:9/')`);
        await db.query('rollback');
      }
      await db.query('begin; set local role anon');
      await expect(db.query(`select net.http_post('http://127.0.0.1:9/')`)).rejects.toThrow('permission denied for schema net');
      await db.query('rollback');
      expect(await migrate(db)).toEqual([]);
    } finally {
      await db.end();
    }
  });
});
