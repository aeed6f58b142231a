import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSupabase, type TestSupabase } from '../support/node/local-supabase.ts';
import { seedUsers } from '../support/seed-users.ts';

describe('local Supabase /rest/v1 with supabase-js', () => {
  let supabase: TestSupabase;
  let admin: SupabaseClient;
  let ada: SupabaseClient;
  let grace: SupabaseClient;
  let anon: SupabaseClient;
  let service: SupabaseClient;

  const client = (key: string) => createClient(supabase.apiUrl, key, { auth: { persistSession: false, autoRefreshToken: false } });
  async function signedIn(user: { email: string; password: string }): Promise<SupabaseClient> {
    const signed = client(supabase.anonKey);
    const { error } = await signed.auth.signInWithPassword({ email: user.email, password: user.password });
    expect(error).toBeNull();
    return signed;
  }

  beforeAll(async () => {
    supabase = await startTestSupabase();
    [admin, ada, grace] = await Promise.all([signedIn(seedUsers.admin), signedIn(seedUsers.ada), signedIn(seedUsers.grace)]);
    anon = client(supabase.anonKey);
    service = client(supabase.serviceRoleKey);
  });
  afterAll(async () => {
    await supabase?.destroy();
  });

  async function send(to: string, subject: string) {
    return admin
      .from('emails')
      .insert({ sender_id: seedUsers.admin.id, recipient_id: to, subject, body: `${subject} body` })
      .select()
      .single();
  }

  it('lets an admin insert an email and read it back as one object', async () => {
    const { data, error, status } = await send(seedUsers.ada.id, 'First');
    expect(error).toBeNull();
    expect(status).toBe(201);
    expect(data).toMatchObject({
      sender_id: seedUsers.admin.id,
      recipient_id: seedUsers.ada.id,
      subject: 'First',
      read_at: null,
    });
    expect(data!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Date(data!.created_at).getTime()).not.toBeNaN();
  });

  it('inserts several rows in one request as supabase-js sends them (quoted columns parameter)', async () => {
    const rows = [seedUsers.ada.id, seedUsers.grace.id].map((recipient_id) => ({
      sender_id: seedUsers.admin.id,
      recipient_id,
      subject: 'Bulk',
      body: 'to both',
    }));
    const { data, error, status } = await admin.from('emails').insert(rows).select('recipient_id,subject');
    expect(error).toBeNull();
    expect(status).toBe(201);
    expect(data!.map((row) => row.recipient_id).sort()).toEqual([seedUsers.ada.id, seedUsers.grace.id].sort());
    await service.from('emails').delete().eq('subject', 'Bulk');
  });

  it('selects columns with filters, order and limit, newest first', async () => {
    await send(seedUsers.ada.id, 'Second');
    await send(seedUsers.ada.id, 'Third');
    const { data, error } = await ada
      .from('emails')
      .select('id,subject')
      .eq('recipient_id', seedUsers.ada.id)
      .order('created_at', { ascending: false })
      .limit(2);
    expect(error).toBeNull();
    expect(data!.map((row) => row.subject)).toEqual(['Third', 'Second']);
    expect(Object.keys(data![0]!)).toEqual(['id', 'subject']);

    const page = await ada.from('emails').select('subject').order('created_at', { ascending: true }).range(1, 1);
    expect(page.data).toEqual([{ subject: 'Second' }]);
    const chosen = await ada.from('emails').select('subject').in('subject', ['First', 'Third']).order('subject');
    expect(chosen.data).toEqual([{ subject: 'First' }, { subject: 'Third' }]);
    const unread = await ada
      .from('emails')
      .select('subject')
      .is('read_at', null)
      .neq('subject', 'First')
      .gte('created_at', '2000-01-01T00:00:00Z')
      .order('subject');
    expect(unread.data).toEqual([{ subject: 'Second' }, { subject: 'Third' }]);
    const either = await ada
      .from('emails')
      .select('subject')
      .or('subject.eq.First,and(subject.like.Sec*,read_at.is.null)')
      .order('subject');
    expect(either.error).toBeNull();
    expect(either.data).toEqual([{ subject: 'First' }, { subject: 'Second' }]);
    const neither = await ada.from('emails').select('subject').not('subject', 'in', '("First","Second")');
    expect(neither.data).toEqual([{ subject: 'Third' }]);
  });

  it('embeds the sender profile through the foreign key named in the select, under row level security', async () => {
    const select = 'subject, sender:profiles!sender_id(display_name), recipient:profiles!emails_recipient_id_fkey(display_name)';
    const asAdmin = await admin.from('emails').select(select).eq('subject', 'First').single();
    expect(asAdmin.error).toBeNull();
    expect(asAdmin.data).toEqual({
      subject: 'First',
      sender: { display_name: seedUsers.admin.name },
      recipient: { display_name: seedUsers.ada.name },
    });
    // Ada may read only her own profile, embedded or not.
    const asAda = await ada.from('emails').select(select).eq('subject', 'First').single();
    expect(asAda.data).toEqual({ subject: 'First', sender: null, recipient: { display_name: seedUsers.ada.name } });
    const ambiguous = await admin.from('emails').select('subject, profiles(display_name)');
    expect(ambiguous.status).toBe(300);
    expect(ambiguous.error?.code).toBe('PGRST201');
  });

  it('lets the recipient mark an email read (204 without return=representation)', async () => {
    const { data: email } = await send(seedUsers.ada.id, 'Mark me');
    const readAt = new Date().toISOString();
    const result = await ada.from('emails').update({ read_at: readAt }).eq('id', email!.id);
    expect(result.error).toBeNull();
    expect(result.status).toBe(204);
    const { data } = await ada.from('emails').select('read_at').eq('id', email!.id).single();
    expect(new Date(data!.read_at).toISOString()).toBe(readAt);
  });

  it('answers 406 PGRST116 for .single() unless exactly one row matches', async () => {
    const none = await ada.from('emails').select('*').eq('subject', 'No such subject').single();
    expect(none.status).toBe(406);
    expect(none.error).toMatchObject({ code: 'PGRST116', details: 'The result contains 0 rows' });
    const many = await ada.from('emails').select('*').single();
    expect(many.status).toBe(406);
    expect(many.error?.code).toBe('PGRST116');
    const maybe = await ada.from('emails').select('*').eq('subject', 'No such subject').maybeSingle();
    expect(maybe).toMatchObject({ data: null, error: null });
  });

  it("hides another user's emails and refuses to change them (row level security)", async () => {
    const { data: forAda } = await send(seedUsers.ada.id, 'Private to Ada');
    const seen = await grace.from('emails').select('*').eq('id', forAda!.id);
    expect(seen).toMatchObject({ data: [], error: null });
    const changed = await grace.from('emails').update({ read_at: new Date().toISOString() }).eq('id', forAda!.id).select();
    expect(changed.data).toEqual([]);
    const stillUnread = await ada.from('emails').select('read_at').eq('id', forAda!.id).single();
    expect(stillUnread.data).toEqual({ read_at: null });
  });

  it('refuses an insert by a user who is not an admin', async () => {
    const { error, status } = await ada
      .from('emails')
      .insert({ sender_id: seedUsers.ada.id, recipient_id: seedUsers.grace.id, subject: 'Hi', body: 'x' });
    expect(status).toBe(403);
    expect(error).toMatchObject({ code: '42501', message: expect.stringContaining('row-level security') });
  });

  it('refuses a recipient changing anything but read_at (column privileges)', async () => {
    const { data: email } = await send(seedUsers.ada.id, 'Keep my subject');
    const { error, status } = await ada.from('emails').update({ subject: 'Changed' }).eq('id', email!.id);
    expect(status).toBe(403);
    expect(error?.code).toBe('42501');
  });

  it('shows anon nothing', async () => {
    const emails = await anon.from('emails').select('*');
    expect(emails.data).toBeNull();
    expect(emails.error?.code).toBe('42501');
    const profiles = await anon.from('profiles').select('*');
    expect(profiles.data).toBeNull();
  });

  it('lets service_role see every row and count them', async () => {
    const all = await service.from('emails').select('*', { count: 'exact', head: true });
    const adas = await ada.from('emails').select('*', { count: 'exact', head: true });
    expect(all.error).toBeNull();
    expect(all.count).toBeGreaterThan(0);
    expect(adas.count).toBe(all.count); // every email so far went to Ada
    const { data } = await service.from('profiles').select('email').order('email');
    expect(data).toEqual([{ email: seedUsers.ada.email }, { email: seedUsers.admin.email }, { email: seedUsers.grace.email }]);
  });

  it('upserts and deletes as service_role, and refuses a user deleting', async () => {
    const upserted = await service
      .from('profiles')
      .upsert({ id: seedUsers.grace.id, email: seedUsers.grace.email, display_name: 'Rear Admiral Hopper' })
      .select('display_name')
      .single();
    expect(upserted).toMatchObject({ status: 201, error: null, data: { display_name: 'Rear Admiral Hopper' } });
    expect((await service.from('profiles').select('id')).data).toHaveLength(3);

    const { data: email } = await send(seedUsers.ada.id, 'Delete me');
    const refused = await ada.from('emails').delete().eq('id', email!.id);
    expect(refused.status).toBe(403);
    expect(refused.error?.code).toBe('42501');
    const deleted = await service.from('emails').delete().eq('id', email!.id).select('subject');
    expect(deleted.data).toEqual([{ subject: 'Delete me' }]);
    expect((await service.from('emails').select('id').eq('id', email!.id)).data).toEqual([]);
  });

  it('answers PostgREST-shaped errors', async () => {
    const missing = await ada.from('no_such_table').select('*');
    expect(missing.status).toBe(404);
    expect(missing.error).toMatchObject({
      code: 'PGRST205',
      message: "Could not find the table 'public.no_such_table' in the schema cache",
    });
    const column = await ada.from('emails').select('nope');
    expect(column.status).toBe(400);
    expect(column.error?.code).toBe('42703');
    const check = await admin
      .from('emails')
      .insert({ sender_id: seedUsers.admin.id, recipient_id: seedUsers.ada.id, subject: '', body: 'x' });
    expect(check.status).toBe(400);
    expect(check.error?.code).toBe('23514');
    const schema = await ada.schema('private').from('settings').select('*');
    expect(schema.status).toBe(406);
    expect(schema.error?.code).toBe('PGRST106');
  });

  it('answers the raw HTTP API as PostgREST does', async () => {
    const headers = { apikey: supabase.anonKey, Authorization: `Bearer ${supabase.serviceRoleKey}` };
    const badOperator = await fetch(`${supabase.apiUrl}/rest/v1/emails?subject=approx.x`, { headers });
    expect(badOperator.status).toBe(400);
    expect(await badOperator.json()).toMatchObject({ code: 'PGRST100' });
    const noKey = await fetch(`${supabase.apiUrl}/rest/v1/emails`);
    expect(noKey.status).toBe(401);
    const badToken = await fetch(`${supabase.apiUrl}/rest/v1/emails`, {
      headers: { apikey: supabase.anonKey, Authorization: 'Bearer not.a.jwt' },
    });
    expect(badToken.status).toBe(401);
    const rpc = await fetch(`${supabase.apiUrl}/rest/v1/rpc/anything`, { method: 'POST', headers, body: '{}' });
    expect(rpc.status).toBe(404);
    expect(await rpc.json()).toMatchObject({ code: 'PGRST202' });
    const rpcGet = await fetch(`${supabase.apiUrl}/rest/v1/rpc/tidings_delivery_status`, { headers });
    expect(rpcGet.status).toBe(501);
    expect((await rpcGet.json()).message).toContain('not supported by the local Supabase');
    const injection = await fetch(`${supabase.apiUrl}/rest/v1/emails?select=id&order=created_at;drop table emails`, { headers });
    expect(injection.status).toBe(400);
  });

  it("calls a function with named arguments as supabase-js rpc() does, under the caller's EXECUTE privilege", async () => {
    const status = await service.rpc('tidings_delivery_status', { failed_limit: 5 });
    expect(status.error).toBeNull();
    expect(status.data).toMatchObject({ undelivered: expect.any(Number), failed: expect.any(Array) });
    const claimed = await service.rpc('tidings_claim_outbox', { outbox_ids: [], lease_seconds: 1 });
    expect(claimed).toMatchObject({ error: null, data: [] });
    const refused = await ada.rpc('tidings_delivery_status', {});
    expect(refused.status).toBe(403);
    expect(refused.error?.code).toBe('42501');
    const unknownArgument = await service.rpc('tidings_delivery_status', { nope: 1 });
    expect(unknownArgument.error?.code).toBe('PGRST202');
  });

  it("commits a function's writes, rolls back a failed one's, and passes arguments as they were sent", async () => {
    const db = await supabase.connect();
    await db.query(`create table public.rpc_notes (note text not null)`);
    await db.query(`create function public.rpc_note(note text, fail boolean) returns text language plpgsql as $$
      begin
        insert into public.rpc_notes values (note);
        if fail then raise exception 'refused: %', note; end if;
        return current_user || ' ' || note;
      end $$`);
    const awkward = `it's "quoted" \\ and '); drop table public.rpc_notes; --`;

    const failed = await service.rpc('rpc_note', { note: awkward, fail: true });
    expect(failed.status).toBe(400);
    expect(failed.error).toMatchObject({ code: 'P0001', message: `refused: ${awkward}` });
    const kept = await service.rpc('rpc_note', { note: awkward, fail: false });
    expect(kept).toMatchObject({ error: null, data: `service_role ${awkward}` });
    // The failed call's connection went back to the pool clean: later calls run as their own role.
    const calls = await Promise.all(Array.from({ length: 12 }, () => ada.rpc('rpc_note', { note: 'ada', fail: false })));
    for (const call of calls) expect(call).toMatchObject({ error: null, data: 'authenticated ada' });

    const { rows } = await db.query<{ note: string }>(`select note from public.rpc_notes where note <> 'ada'`);
    expect(rows).toEqual([{ note: awkward }]);
  });
});
