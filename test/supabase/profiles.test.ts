import { createClient } from '@supabase/supabase-js';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSupabase, type TestSupabase } from '../support/node/local-supabase.ts';
import { seedUsers } from '../support/seed-users.ts';

describe('profile display names', () => {
  let supabase: TestSupabase;
  let db: pg.Client;

  beforeAll(async () => {
    supabase = await startTestSupabase();
    db = await supabase.connect();
  });
  afterAll(async () => {
    await supabase?.destroy();
  });

  it('refuses a name over 80 characters, an empty one and one with surrounding spaces, whoever writes it', async () => {
    for (const name of ['x'.repeat(81), '', '   ', ' Ada']) {
      await expect(db.query('update public.profiles set display_name = $1 where id = $2', [name, seedUsers.ada.id])).rejects.toThrow(
        /profiles_display_name_length/,
      );
    }
    await db.query('update public.profiles set display_name = $1 where id = $2', ['x'.repeat(80), seedUsers.ada.id]);
    await db.query('update public.profiles set display_name = $1 where id = $2', [seedUsers.ada.name, seedUsers.ada.id]);
  });

  it('refuses a user renaming themselves to a name that shows blank, breaks lines or reorders text, as they would through /rest/v1', async () => {
    const ada = createClient(supabase.apiUrl, supabase.anonKey, { auth: { persistSession: false, autoRefreshToken: false } });
    const { error: signInError } = await ada.auth.signInWithPassword({ email: seedUsers.ada.email, password: seedUsers.ada.password });
    expect(signInError).toBeNull();
    const blankOrHostile = [
      '\t',
      '\n',
      '\u00a0',
      '\u3000',
      '\u200b',
      '\ufeff',
      'Ada\u00a0',
      '\u2003Ada',
      'Ada\nLovelace',
      'Ada\u0007',
      'Ada\u0085',
      '\u202eadA',
      'Ada\u2066x',
    ];
    for (const name of blankOrHostile) {
      const { error } = await ada.from('profiles').update({ display_name: name }).eq('id', seedUsers.ada.id);
      expect(error, JSON.stringify(name)).toMatchObject({
        code: '23514',
        message: expect.stringContaining('profiles_display_name_visible'),
      });
    }
    for (const name of ['Ada Lovelace', 'Zoë 🧑\u200d💻', 'אדה', '李']) {
      const { error } = await ada.from('profiles').update({ display_name: name }).eq('id', seedUsers.ada.id);
      expect(error, name).toBeNull();
    }
    await db.query('update public.profiles set display_name = $1 where id = $2', [seedUsers.ada.name, seedUsers.ada.id]);
  });

  it('gives a new user a name from their metadata, trimmed and cut to 80 characters, or from their email', async () => {
    const created = async (email: string, metadata: object) => {
      const { rows } = await db.query(
        `insert into auth.users (id, email, raw_app_meta_data, raw_user_meta_data) values (gen_random_uuid(), $1, '{}', $2)
         returning id`,
        [email, JSON.stringify(metadata)],
      );
      return (await db.query('select display_name from public.profiles where id = $1', [rows[0].id])).rows[0].display_name as string;
    };
    expect(await created('long@tidings.test', { display_name: `  ${'y'.repeat(500)}  ` })).toBe('y'.repeat(80));
    expect(await created('blank@tidings.test', { display_name: '   ' })).toBe('blank');
    expect(await created('none@tidings.test', {})).toBe('none');
    // Cleaned: whitespace and invisible characters at the ends, controls and bidirectional controls inside.
    expect(await created('invisible@tidings.test', { display_name: '\u200b\u00a0\t' })).toBe('invisible');
    expect(await created('lines@tidings.test', { display_name: '\u3000Ada\nLovelace\u202e\u2003' })).toBe('Ada Lovelace');
    expect(await created('cut@tidings.test', { display_name: `${'z'.repeat(79)}\u00a0tail` })).toBe('z'.repeat(79));
  });
});
