import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import pg from 'pg';
import { AuthApi } from './auth.ts';
import { CorsPolicy, DEV_ORIGINS } from './cors.ts';
import { HttpError, send } from './http.ts';
import { type SupabaseClaims, verifySupabaseJwt } from './jwt.ts';
import { ANON_KEY, LEGACY_JWT_SECRET, SERVICE_ROLE_KEY } from './keys.ts';
import { applyMigrations, type MigrationReport } from './migrations.ts';
import { type NetWorker, startNetWorker } from './net-worker.ts';
import { existingPostgres, type RunningPostgres, startEmbeddedPostgres } from './postgres.ts';
import { RestApi } from './rest.ts';

/** Where and how to run the local Supabase. Every field has the `supabase start` default. */
export interface LocalSupabaseOptions {
  /** Data folder of the embedded Postgres (default `.tidings/db`); kept between runs. */
  dataDir?: string;
  /** Embedded Postgres port (default 54322). */
  dbPort?: number;
  /** API port for /rest/v1 and /auth/v1 (default 54321; 0 picks a free one). */
  apiPort?: number;
  /** An existing Postgres to use instead of starting one (e.g. DATABASE_URL). */
  databaseUrl?: string;
  /** When set (with webhookSecret), stored as the database's webhook URL at start. */
  webhookUrl?: string;
  /** When set (with webhookUrl), stored as the database's webhook signing secret at start. */
  webhookSecret?: string;
  /**
   * Browser origins the API answers (CORS), e.g. where the web client is served; a request from
   * any other origin is refused (default: http://127.0.0.1:8787 and http://localhost:8787, where
   * `npm run dev` serves it). More can be added later with {@link LocalSupabase.allowOrigin}.
   */
  allowedOrigins?: string[];
  /** Run supabase/seed.sql on a fresh database (default true). */
  seed?: boolean;
  /** Receives Postgres's and the worker's log lines (default: dropped). */
  log?: (line: string) => void;
}

/** A running local Supabase. */
export interface LocalSupabase {
  /** e.g. http://127.0.0.1:54321, the SUPABASE_URL for supabase-js. */
  apiUrl: string;
  /** e.g. postgresql://postgres:postgres@127.0.0.1:54322/postgres, for psql. */
  databaseUrl: string;
  /** The embedded Postgres's data folder (not always `dataDir`: see startEmbeddedPostgres); null with `databaseUrl`. */
  postgresDataDir: string | null;
  anonKey: string;
  serviceRoleKey: string;
  /** The legacy HS256 JWT secret (public development value). */
  jwtSecret: string;
  /** What this start applied. */
  migrations: MigrationReport;
  /** The browser origins the API answers now (normalised). */
  allowedOrigins: () => string[];
  /** Answers CORS for another browser origin from now on (e.g. a Worker started on a port picked after the API). */
  allowOrigin: (origin: string) => void;
  /** Resolves once every queued webhook has been sent (for tests and scripts). */
  webhooksIdle: () => Promise<void>;
  /** Stops the API, the pg_net worker and (if embedded) Postgres. */
  stop: () => Promise<void>;
}

/**
 * Starts the offline stand-in for `supabase start`: Postgres 17 (embedded, or `databaseUrl`),
 * Supabase's roles and auth schema, the migrations and seed, a pg_net-compatible worker that sends
 * database webhooks, and /rest/v1 + /auth/v1 on one HTTP port.
 *
 * @example
 * const supabase = await startLocalSupabase({ dataDir: '/tmp/db', dbPort: 54322, apiPort: 54321 });
 * const client = createClient(supabase.apiUrl, supabase.anonKey);
 * await supabase.stop();
 */
export async function startLocalSupabase(options: LocalSupabaseOptions = {}): Promise<LocalSupabase> {
  const log = options.log ?? (() => undefined);
  const postgres: RunningPostgres = options.databaseUrl
    ? existingPostgres(options.databaseUrl)
    : await startEmbeddedPostgres({ dataDir: options.dataDir ?? '.tidings/db', port: options.dbPort ?? 54322, log });
  const cleanup: (() => Promise<unknown>)[] = [postgres.stop];
  const stop = async () => {
    for (const step of cleanup.reverse().splice(0)) await step().catch((error: unknown) => log(`stop: ${(error as Error).message}`));
  };
  try {
    const admin = new pg.Client({ connectionString: postgres.url, application_name: 'tidings local supabase' });
    await admin.connect();
    let migrations: MigrationReport;
    try {
      migrations = await applyMigrations(admin, { seedFile: options.seed === false ? null : undefined });
      if (options.webhookUrl && options.webhookSecret) {
        await setWebhookSettings(admin, options.webhookUrl, options.webhookSecret);
      }
    } finally {
      await admin.end();
    }

    let worker: NetWorker | null = null;
    if (!(await hasRealPgNet(postgres.url))) {
      worker = await startNetWorker({ databaseUrl: postgres.url, log });
      cleanup.push(worker.stop);
    }

    // The API connects as `authenticator` and becomes anon/authenticated/service_role per request.
    const restPool = new pg.Pool({
      connectionString: withCredentials(postgres.url, 'authenticator', 'postgres'),
      max: 10,
      application_name: 'postgrest (local)',
    });
    const authPool = new pg.Pool({ connectionString: postgres.url, max: 4, application_name: 'gotrue (local)' });
    restPool.on('error', (error) => log(`rest pool: ${error.message}`));
    authPool.on('error', (error) => log(`auth pool: ${error.message}`));
    cleanup.push(
      () => restPool.end(),
      () => authPool.end(),
    );

    const cors = new CorsPolicy(options.allowedOrigins ?? DEV_ORIGINS);
    const server = createServer();
    server.on('clientError', answerClientError);
    const apiUrl = await listen(server, options.apiPort ?? 54321);
    cleanup.push(() => close(server));
    const rest = new RestApi(restPool);
    const auth = new AuthApi(authPool, apiUrl);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      void route(request, response, cors, rest, auth).catch((error: unknown) => {
        if (response.headersSent) {
          response.destroy();
          return;
        }
        if (error instanceof HttpError) return send(response, error.status, error.body, error.headers);
        const code = (error as pg.DatabaseError).code;
        if (typeof code === 'string' && code.startsWith('22')) {
          // Postgres's data exceptions (a value it cannot take) are the caller's input, never ours.
          const { message, detail, hint } = error as pg.DatabaseError;
          return send(response, 400, { code, message, details: detail ?? null, hint: hint ?? null });
        }
        log(`api: ${(error as Error).stack ?? String(error)}`);
        send(response, 500, {
          code: 'internal_error',
          message: 'The local Supabase failed on this request; see its log.',
          details: null,
          hint: null,
        });
      });
    });

    return {
      apiUrl,
      databaseUrl: postgres.url,
      postgresDataDir: postgres.dataDir ?? null,
      anonKey: ANON_KEY,
      serviceRoleKey: SERVICE_ROLE_KEY,
      jwtSecret: LEGACY_JWT_SECRET,
      migrations,
      allowedOrigins: () => cors.list(),
      allowOrigin: (origin) => cors.allow(origin),
      webhooksIdle: async () => {
        if (!worker) return;
        // A request queued by a commit that happened just now may not have woken the worker yet.
        const probe = new pg.Client({ connectionString: postgres.url });
        await probe.connect();
        try {
          for (;;) {
            await worker.idle();
            const { rows } = await probe.query<{ queued: string }>('select count(*) as queued from net.http_request_queue');
            if (rows[0]!.queued === '0') break;
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        } finally {
          await probe.end();
        }
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Stores the webhook URL and signing secret where the model observer reads them (private.settings). */
export async function setWebhookSettings(client: pg.Client | pg.Pool, url: string, secret: string): Promise<void> {
  await client.query(
    `insert into private.settings (name, value) values ('webhook_url', $1), ('webhook_secret', $2)
     on conflict (name) do update set value = excluded.value, updated_at = now()`,
    [url, secret],
  );
}

async function route(request: IncomingMessage, response: ServerResponse, cors: CorsPolicy, rest: RestApi, auth: AuthApi): Promise<void> {
  const { headers, preflight } = cors.decide(request);
  for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
  if (preflight || request.method === 'OPTIONS') {
    response.writeHead(204, preflight ? {} : { Allow: 'GET, HEAD, POST, PATCH, PUT, DELETE, OPTIONS' });
    response.end();
    return;
  }
  const url = parseRequestUrl(request.url ?? '/');
  const path = url.pathname;
  if (path === '/auth/v1/.well-known/jwks.json') return send(response, 200, auth.jwks(), { 'Cache-Control': 'public, max-age=600' });
  const service = /^\/(rest|auth)\/v1(\/.*)?$/.exec(path);
  if (!service) {
    return send(response, 404, {
      code: 'not_found',
      message: `Not found: ${request.method} ${path}. The local Supabase serves /rest/v1 and /auth/v1 only.`,
    });
  }
  // The API gateway's rule (Kong on Supabase): every request names a project key.
  const apikey = request.headers.apikey ?? url.searchParams.get('apikey');
  if (typeof apikey !== 'string' || apikey === '') {
    return send(response, 401, { message: 'No API key found in request', hint: 'No `apikey` request header or url param was found.' });
  }
  const keyClaims = await verifySupabaseJwt(apikey).catch(() => null);
  if (!keyClaims || (keyClaims.role !== 'anon' && keyClaims.role !== 'service_role')) {
    return send(response, 401, { message: 'Invalid API key', hint: 'Double check your Supabase `anon` or `service_role` API key.' });
  }
  const subPath = service[2] ?? '';
  if (service[1] === 'auth') {
    const { status, body } = await auth.handle(request, subPath, url);
    return send(response, status, body);
  }
  const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? apikey;
  let claims: SupabaseClaims;
  try {
    claims = await verifySupabaseJwt(bearer);
  } catch (error) {
    return send(
      response,
      401,
      { code: 'PGRST301', details: null, hint: null, message: (error as Error).message },
      { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${(error as Error).message}"` },
    );
  }
  const result = await rest.handle(request, subPath, url, claims);
  send(response, result.status, result.body, result.headers);
}

/**
 * The request's URL, its path percent-decodable (PostgREST and GoTrue decode it).
 * @throws HttpError 400 naming what is malformed.
 */
function parseRequestUrl(target: string): URL {
  let url: URL;
  try {
    url = new URL(target, 'http://local');
  } catch {
    throw badRequest(`The request target is not a valid URL path: '${target.slice(0, 200)}'`);
  }
  try {
    decodeURIComponent(url.pathname);
  } catch {
    throw badRequest(
      `Malformed percent-encoding in the request path '${url.pathname.slice(0, 200)}': each '%' must start an escape of two hexadecimal digits, and the escapes must spell UTF-8.`,
      "Encode a literal '%' as %25.",
    );
  }
  return url;
}

function badRequest(message: string, hint: string | null = null): HttpError {
  return new HttpError(400, { code: 'PGRST100', message, details: null, hint });
}

/**
 * What Node's HTTP parser refuses before a request exists (a request line and headers over 16 KB,
 * malformed HTTP) is answered as every other error is: a status and a JSON body saying why.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
  const body = JSON.stringify({
    code: tooLarge ? 'request_too_large' : 'bad_request',
    message: tooLarge
      ? 'The request line and headers are larger than the local Supabase accepts (16 KB): shorten the URL (filters, select) or the headers.'
      : `The request is not valid HTTP: ${error.message}`,
    details: null,
    hint: null,
  });
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

async function hasRealPgNet(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rowCount } = await client.query(`select 1 from pg_extension where extname = 'pg_net'`);
    return (rowCount ?? 0) > 0;
  } finally {
    await client.end();
  }
}

function withCredentials(databaseUrl: string, user: string, password: string): string {
  const url = new URL(databaseUrl);
  url.username = user;
  url.password = password;
  return url.toString();
}

function listen(server: Server, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`Port ${port} is in use: another local Supabase (or supabase start) is running. Stop it, or set SUPABASE_API_PORT.`)
          : error,
      );
    });
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
