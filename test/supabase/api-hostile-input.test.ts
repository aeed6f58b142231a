import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_LOGIC_DEPTH } from '../../supabase/local/rest.ts';
import { startTestSupabase, type TestSupabase } from '../support/node/local-supabase.ts';
import { seedUsers } from '../support/seed-users.ts';

/** `or=(or(or(...subject.eq.x...)))`: `depth` levels of or, the outermost included. */
function nestedOr(depth: number, operator = 'or'): string {
  return `${operator}=(${`${operator}(`.repeat(depth - 1)}subject.eq.x${')'.repeat(depth - 1)})`;
}

/** A PostgREST-shaped error body: code, message, details and hint, each present (details and hint may be null). */
const pgrstError = (code: string, message: RegExp) =>
  expect.objectContaining({
    code,
    message: expect.stringMatching(message),
    details: expect.not.stringMatching(/^$/),
    hint: expect.not.stringMatching(/^$/),
  });

describe('the local Supabase API with hostile input', () => {
  let supabase: TestSupabase;
  let headers: Record<string, string>;

  beforeAll(async () => {
    supabase = await startTestSupabase();
    headers = { apikey: supabase.anonKey, Authorization: `Bearer ${supabase.serviceRoleKey}` };
  });
  afterAll(async () => {
    await supabase?.destroy();
  });

  async function get(path: string, extra: Record<string, string> = {}): Promise<{ status: number; body: unknown; response: Response }> {
    const response = await fetch(`${supabase.apiUrl}${path}`, { headers: { ...headers, ...extra } });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text), response };
  }

  describe('malformed paths and filters get a 400 naming the problem', () => {
    it.each(['/rest/v1/%ZZ', '/rest/v1/emails%E0%A4%A', '/rest/v1/%', '/auth/v1/%ZZ'])('answers %s with 400', async (path) => {
      const { status, body } = await get(path);
      expect(status).toBe(400);
      expect(body).toEqual(pgrstError('PGRST100', /^Malformed percent-encoding in the request path/));
    });

    it(`serves or/and filters nested ${MAX_LOGIC_DEPTH} levels deep`, async () => {
      for (const operator of ['or', 'and']) {
        const { status, body } = await get(`/rest/v1/emails?select=id&${nestedOr(MAX_LOGIC_DEPTH, operator)}`);
        expect(status, operator).toBe(200);
        expect(body).toEqual([]);
      }
    });

    it.each([MAX_LOGIC_DEPTH + 1, 1000])('refuses or filters nested %i levels deep, saying the limit', async (depth) => {
      for (const query of [nestedOr(depth), `not.${nestedOr(depth)}`, nestedOr(depth, 'and')]) {
        const { status, body } = await get(`/rest/v1/emails?${query}`);
        expect(status, query.slice(0, 20)).toBe(400);
        expect(body).toEqual(pgrstError('PGRST100', new RegExp(`nested more than ${MAX_LOGIC_DEPTH} levels deep`)));
      }
    });

    it('refuses unbalanced parentheses and quotes in a logic tree', async () => {
      for (const query of [
        'or=(subject.eq.x))',
        'or=(subject.eq.x,or(subject.eq.y)',
        'or=(subject.eq."x)',
        'and=(subject.eq.x)(read_at.is.null)',
      ]) {
        const { status, body } = await get(`/rest/v1/emails?${query}`);
        expect(status, query).toBe(400);
        expect(body).toEqual(pgrstError('PGRST100', /unbalanced parentheses or quotes/));
      }
      // Quoted, a value may hold them.
      expect((await get('/rest/v1/emails?or=(subject.eq."x)",subject.eq."(y")')).status).toBe(200);
    });

    it('answers a request line over 16 KB with 431 and a JSON body', async () => {
      const { status, body } = await get(`/rest/v1/emails?${nestedOr(5000)}`);
      expect(status).toBe(431);
      expect(body).toEqual(pgrstError('request_too_large', /larger than the local Supabase accepts/));
    });

    it('answers values Postgres cannot take with 400, in sign-in too', async () => {
      expect(await get('/rest/v1/emails?subject=eq.a%00b')).toMatchObject({ status: 400, body: { code: '22021' } });
      const signIn = await fetch(`${supabase.apiUrl}/auth/v1/token?grant_type=password`, {
        method: 'POST',
        headers: { apikey: supabase.anonKey, 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: `${seedUsers.ada.email}\u0000`, password: seedUsers.ada.password }),
      });
      expect(signIn.status).toBe(400);
      expect(await signIn.json()).toMatchObject({ code: 'invalid_credentials' });
      const refresh = await fetch(`${supabase.apiUrl}/auth/v1/token?grant_type=refresh_token`, {
        method: 'POST',
        headers: { apikey: supabase.anonKey, 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: 'a\u0000b' }),
      });
      expect(refresh.status).toBe(400);
    });
  });
});
