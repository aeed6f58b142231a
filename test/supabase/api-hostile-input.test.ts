import type { IncomingMessage } from 'node:http';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorsPolicy, DEV_ORIGINS, devOrigins } from '../../supabase/local/cors.ts';
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

  /** A request with headers fetch will not send (Host), answered as status and JSON body. */
  function raw(
    path: string,
    rawHeaders: Record<string, string>,
  ): Promise<{ status: number; body: unknown; headers: IncomingMessage['headers'] }> {
    const { port } = new URL(supabase.apiUrl);
    return new Promise((resolve, reject) => {
      request({ host: '127.0.0.1', port, path, headers: rawHeaders }, (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () =>
          resolve({ status: response.statusCode!, body: text === '' ? undefined : JSON.parse(text), headers: response.headers }),
        );
      })
        .on('error', reject)
        .end();
    });
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

  describe('CORS: only the dev origins', () => {
    const evil = 'https://evil.example';

    it('refuses a preflight from another origin, with no Access-Control-Allow-Origin', async () => {
      const response = await fetch(`${supabase.apiUrl}/rest/v1/emails`, {
        method: 'OPTIONS',
        headers: { Origin: evil, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'apikey, authorization' },
      });
      expect(response.status).toBe(403);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(response.headers.get('access-control-allow-headers')).toBeNull();
      expect(await response.json()).toEqual(
        pgrstError('origin_not_allowed', /does not answer requests from web pages at https:\/\/evil\.example/),
      );
    });

    it('refuses a GET from another origin, with the key in a header or in the URL (no preflight needed), and Origin: null', async () => {
      for (const { path, extra } of [
        { path: '/rest/v1/emails', extra: { Origin: evil } },
        { path: `/rest/v1/emails?apikey=${supabase.serviceRoleKey}`, extra: { Origin: evil } },
        { path: '/auth/v1/user', extra: { Origin: evil } },
        { path: '/rest/v1/emails', extra: { Origin: 'null' } },
        { path: '/rest/v1/emails', extra: { Origin: 'http://127.0.0.1:8788' } },
      ]) {
        const { status, body, response } = await get(path, extra);
        expect(status, `${extra.Origin} ${path.slice(0, 30)}`).toBe(403);
        expect(response.headers.get('access-control-allow-origin')).toBeNull();
        expect(body).toMatchObject({ code: 'origin_not_allowed' });
      }
      const write = await fetch(`${supabase.apiUrl}/rest/v1/emails?apikey=${supabase.serviceRoleKey}`, {
        method: 'POST',
        headers: { Origin: evil, 'Content-Type': 'text/plain' },
        body: '{}',
      });
      expect(write.status).toBe(403);
    });

    it.each(DEV_ORIGINS)('answers a preflight and a GET from %s', async (origin) => {
      const preflight = await fetch(`${supabase.apiUrl}/rest/v1/emails`, {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'PATCH',
          'Access-Control-Request-Headers': 'apikey, authorization, prefer',
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
      expect(preflight.headers.get('access-control-allow-methods')).toContain('PATCH');
      expect(preflight.headers.get('access-control-allow-headers')).toContain('apikey');
      expect(preflight.headers.get('vary')).toBe('Origin');

      const { status, body, response } = await get('/rest/v1/emails?select=id', { Origin: origin });
      expect(status).toBe(200);
      expect(body).toEqual([]);
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
      expect(response.headers.get('access-control-expose-headers')).toContain('Content-Range');
      // Errors carry it too, so the page can read why.
      const missing = await get('/rest/v1/no_such_table', { Origin: origin });
      expect(missing.status).toBe(404);
      expect(missing.response.headers.get('access-control-allow-origin')).toBe(origin);
    });

    it('serves clients that send no Origin (the Worker, scripts) without CORS headers', async () => {
      const { status, response } = await get('/rest/v1/emails?select=id');
      expect(status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('answers an origin added with allowOrigin from then on', async () => {
      const origin = 'http://127.0.0.1:45678';
      expect((await get('/rest/v1/emails?select=id', { Origin: origin })).status).toBe(403);
      supabase.allowOrigin(`${origin}/`);
      expect(supabase.allowedOrigins()).toEqual([...DEV_ORIGINS, origin]);
      const { status, response } = await get('/rest/v1/emails?select=id', { Origin: origin });
      expect(status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
      expect(() => supabase.allowOrigin('*')).toThrow(/Not an origin/);
    });

    it('refuses a Host that is not loopback (a DNS-rebinding page) and serves the loopback names', async () => {
      const { port } = new URL(supabase.apiUrl);
      const rebound = await raw('/rest/v1/emails', { ...headers, Host: `evil.example:${port}` });
      expect(rebound.status).toBe(403);
      expect(rebound.body).toMatchObject({ code: 'host_not_allowed' });
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'LOCALHOST']) {
        expect((await raw('/rest/v1/emails?select=id', { ...headers, Host: host })).status, host).toBe(200);
      }
    });
  });
});

describe('the allowed origins', () => {
  it('are the dev origins by default', () => {
    expect(new CorsPolicy().list()).toEqual(['http://127.0.0.1:8787', 'http://localhost:8787']);
    expect(devOrigins({})).toEqual(['http://127.0.0.1:8787', 'http://localhost:8787']);
  });

  it('follow the PORT and HOST npm run dev starts the Worker with, and add SUPABASE_CORS_ORIGINS', () => {
    expect(devOrigins({ PORT: '9000' })).toEqual([
      'http://127.0.0.1:8787',
      'http://localhost:8787',
      'http://127.0.0.1:9000',
      'http://localhost:9000',
    ]);
    expect(devOrigins({ PORT: '9000', HOST: 'tidings.test' })).toContain('http://tidings.test:9000');
    expect(devOrigins({ HOST: '::1' })).toContain('http://[::1]:8787');
    expect(devOrigins({ HOST: '0.0.0.0' })).toEqual(['http://127.0.0.1:8787', 'http://localhost:8787']);
    expect(devOrigins({ SUPABASE_CORS_ORIGINS: 'https://Tidings.Example/, http://192.168.1.5:8787' })).toEqual([
      'http://127.0.0.1:8787',
      'http://localhost:8787',
      'https://tidings.example',
      'http://192.168.1.5:8787',
    ]);
    expect(() => devOrigins({ SUPABASE_CORS_ORIGINS: 'https://tidings.example/app' })).toThrow(/Not an origin/);
    expect(() => devOrigins({ SUPABASE_CORS_ORIGINS: '*' })).toThrow(/Not an origin/);
  });

  it('can be replaced in the options', async () => {
    const supabase = await startTestSupabase({ allowedOrigins: ['http://127.0.0.1:3000'] });
    try {
      const headers = { apikey: supabase.anonKey, Origin: 'http://127.0.0.1:3000' };
      expect(
        (await fetch(`${supabase.apiUrl}/rest/v1/emails`, { headers: { ...headers, Authorization: `Bearer ${supabase.serviceRoleKey}` } }))
          .status,
      ).toBe(200);
      expect((await fetch(`${supabase.apiUrl}/rest/v1/emails`, { headers: { ...headers, Origin: 'http://127.0.0.1:8787' } })).status).toBe(
        403,
      );
    } finally {
      await supabase.destroy();
    }
  });
});
