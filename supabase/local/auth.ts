import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type pg from 'pg';
import { HttpError, notSupported, parseJson, readBody } from './http.ts';
import { signUserAccessToken, verifySupabaseJwt } from './jwt.ts';
import { publicUserTokenJwk } from './keys.ts';

// A subset of GoTrue (Supabase Auth): password sign-in, refresh-token rotation, the current
// user, sign-out, and the JWKS document. Users live in auth.users with bcrypt hashes
// (pgcrypto's crypt()), exactly as GoTrue stores them, so seed.sql works with both.

/** Access tokens live an hour, as on Supabase. */
const ACCESS_TOKEN_SECONDS = 3600;

interface UserRow {
  id: string;
  aud: string | null;
  role: string | null;
  email: string;
  email_confirmed_at: string | null;
  last_sign_in_at: string | null;
  raw_app_meta_data: Record<string, unknown> | null;
  raw_user_meta_data: Record<string, unknown> | null;
  created_at: string | null;
  updated_at: string | null;
  banned_until: string | null;
}

const USER_COLUMNS = `id, aud, role, email, email_confirmed_at, last_sign_in_at, raw_app_meta_data, raw_user_meta_data,
  created_at, updated_at, banned_until`;

function authError(status: number, code: string, message: string): HttpError {
  // `code` + `message` is GoTrue's shape for X-Supabase-Api-Version 2024-01-01; `error_code` and
  // `msg` are the older one. supabase-js reads either.
  return new HttpError(status, { code, error_code: code, message, msg: message });
}

/** The user object GoTrue returns. */
function userJson(user: UserRow): Record<string, unknown> {
  return {
    id: user.id,
    aud: user.aud ?? 'authenticated',
    role: user.role ?? 'authenticated',
    email: user.email,
    email_confirmed_at: user.email_confirmed_at,
    phone: '',
    confirmed_at: user.email_confirmed_at,
    last_sign_in_at: user.last_sign_in_at,
    app_metadata: user.raw_app_meta_data ?? {},
    user_metadata: user.raw_user_meta_data ?? {},
    identities: [],
    created_at: user.created_at,
    updated_at: user.updated_at,
    is_anonymous: false,
  };
}

/** Serves /auth/v1 from a pool with access to the auth schema. */
export class AuthApi {
  private readonly pool: pg.Pool;
  private readonly issuer: string;

  constructor(pool: pg.Pool, apiUrl: string) {
    this.pool = pool;
    this.issuer = `${apiUrl}/auth/v1`;
  }

  /** The JWKS document (public; no apikey needed, as on Supabase). */
  jwks(): Record<string, unknown> {
    return { keys: [publicUserTokenJwk()] };
  }

  /** Handles one request below /auth/v1 (`path` is what follows it). */
  async handle(request: IncomingMessage, path: string, url: URL): Promise<{ status: number; body: unknown }> {
    const method = request.method ?? 'GET';
    if (method === 'POST' && path === '/token') {
      const grantType = url.searchParams.get('grant_type');
      const body = (parseJson(await readBody(request), 'validation_failed') ?? {}) as Record<string, unknown>;
      if (grantType === 'password') return { status: 200, body: await this.passwordGrant(body, request) };
      if (grantType === 'refresh_token') return { status: 200, body: await this.refreshGrant(body) };
      throw grantType
        ? notSupported(`grant_type=${grantType}`)
        : authError(400, 'validation_failed', 'unsupported_grant_type: grant_type must be password or refresh_token');
    }
    if (method === 'GET' && path === '/user') {
      const { user } = await this.currentSession(request);
      return { status: 200, body: userJson(user) };
    }
    if (method === 'POST' && path === '/logout') {
      const { claims } = await this.currentSession(request);
      const scope = url.searchParams.get('scope') ?? 'global';
      if (scope === 'global') await this.pool.query('delete from auth.sessions where user_id = $1', [claims.sub]);
      else if (scope === 'local') await this.pool.query('delete from auth.sessions where id = $1', [claims.session_id]);
      else if (scope === 'others')
        await this.pool.query('delete from auth.sessions where user_id = $1 and id <> $2', [claims.sub, claims.session_id]);
      else throw authError(400, 'validation_failed', `scope must be global, local or others: '${scope}'`);
      return { status: 204, body: undefined };
    }
    if (method === 'GET' && path === '/health') {
      return { status: 200, body: { version: 'tidings-local', name: 'GoTrue', description: "The local Supabase's Auth subset" } };
    }
    if (method === 'GET' && path === '/settings') {
      return {
        status: 200,
        body: {
          external: { email: true },
          disable_signup: true,
          mailer_autoconfirm: true,
          phone_autoconfirm: false,
          sms_provider: '',
          saml_enabled: false,
        },
      };
    }
    throw notSupported(`${method} /auth/v1${path}`);
  }

  private async passwordGrant(body: Record<string, unknown>, request: IncomingMessage): Promise<Record<string, unknown>> {
    const { email, password } = body;
    if (typeof email !== 'string' || typeof password !== 'string' || email === '' || password === '') {
      throw authError(400, 'validation_failed', 'A password sign-in needs an email and a password');
    }
    // Postgres text cannot hold U+0000; no email or password has one.
    if (email.includes('\u0000') || password.includes('\u0000')) throw authError(400, 'invalid_credentials', 'Invalid login credentials');
    const { rows } = await this.pool.query<UserRow>(
      `select ${USER_COLUMNS} from auth.users
       where lower(email) = lower($1) and deleted_at is null
         and encrypted_password is not null and encrypted_password = extensions.crypt($2, encrypted_password)`,
      [email, password],
    );
    const user = rows[0];
    if (!user) throw authError(400, 'invalid_credentials', 'Invalid login credentials');
    if (user.banned_until && new Date(user.banned_until) > new Date()) throw authError(400, 'user_banned', 'User is banned');
    const sessionId = randomUUID();
    await this.pool.query('insert into auth.sessions (id, user_id, created_at, updated_at, user_agent) values ($1, $2, now(), now(), $3)', [
      sessionId,
      user.id,
      request.headers['user-agent'] ?? null,
    ]);
    const {
      rows: [signedIn],
    } = await this.pool.query<UserRow>(`update auth.users set last_sign_in_at = now() where id = $1 returning ${USER_COLUMNS}`, [user.id]);
    return this.session(signedIn!, sessionId, 'password', null);
  }

  private async refreshGrant(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const token = body.refresh_token;
    if (typeof token !== 'string' || token === '') throw authError(400, 'validation_failed', 'refresh_token is required');
    if (token.includes('\u0000')) throw authError(400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
    // Rotation: a refresh token is spent once, and its session carries on with the new one.
    const { rows } = await this.pool.query<{ user_id: string; session_id: string }>(
      `update auth.refresh_tokens set revoked = true, updated_at = now()
       where token = $1 and not revoked and session_id in (select id from auth.sessions)
       returning user_id, session_id`,
      [token],
    );
    const spent = rows[0];
    if (!spent) throw authError(400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
    const { rows: users } = await this.pool.query<UserRow>(`select ${USER_COLUMNS} from auth.users where id = $1`, [spent.user_id]);
    if (!users[0]) throw authError(400, 'user_not_found', 'User from refresh token no longer exists');
    await this.pool.query('update auth.sessions set updated_at = now() where id = $1', [spent.session_id]);
    return this.session(users[0], spent.session_id, 'token_refresh', token);
  }

  private async session(user: UserRow, sessionId: string, method: string, parent: string | null): Promise<Record<string, unknown>> {
    const refreshToken = randomBytes(16).toString('base64url');
    await this.pool.query(
      `insert into auth.refresh_tokens (token, user_id, revoked, created_at, updated_at, parent, session_id)
       values ($1, $2, false, now(), now(), $3, $4)`,
      [refreshToken, user.id, parent, sessionId],
    );
    const now = Math.floor(Date.now() / 1000);
    const accessToken = await signUserAccessToken(
      {
        iss: this.issuer,
        sub: user.id,
        aud: user.aud ?? 'authenticated',
        email: user.email,
        phone: '',
        app_metadata: user.raw_app_meta_data ?? {},
        user_metadata: user.raw_user_meta_data ?? {},
        role: user.role ?? 'authenticated',
        aal: 'aal1',
        amr: [{ method, timestamp: now }],
        session_id: sessionId,
        is_anonymous: false,
      },
      ACCESS_TOKEN_SECONDS,
    );
    return {
      access_token: accessToken,
      token_type: 'bearer',
      expires_in: ACCESS_TOKEN_SECONDS,
      expires_at: now + ACCESS_TOKEN_SECONDS,
      refresh_token: refreshToken,
      user: userJson(user),
    };
  }

  /** The signed-in user behind the request's bearer token, whose session must still exist. */
  private async currentSession(
    request: IncomingMessage,
  ): Promise<{ user: UserRow; claims: Awaited<ReturnType<typeof verifySupabaseJwt>> }> {
    const token = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!token) throw authError(401, 'no_authorization', 'This endpoint requires a Bearer token');
    let claims: Awaited<ReturnType<typeof verifySupabaseJwt>>;
    try {
      claims = await verifySupabaseJwt(token);
    } catch (error) {
      throw authError(403, 'bad_jwt', `invalid JWT: unable to parse or verify signature, ${(error as Error).message}`);
    }
    if (!claims.sub) throw authError(403, 'bad_jwt', 'invalid claim: missing sub claim');
    if (claims.session_id) {
      const { rowCount } = await this.pool.query('select 1 from auth.sessions where id = $1', [claims.session_id]);
      if (rowCount === 0) throw authError(403, 'session_not_found', 'Session from session_id claim in JWT does not exist');
    }
    const { rows } = await this.pool.query<UserRow>(`select ${USER_COLUMNS} from auth.users where id = $1`, [claims.sub]);
    if (!rows[0]) throw authError(403, 'user_not_found', 'User from sub claim in JWT does not exist');
    return { user: rows[0], claims };
  }
}
