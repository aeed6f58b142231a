import type { IncomingMessage } from 'node:http';
import { HttpError } from './http.ts';

// The local API's keys are public (every Supabase CLI project has the same ones), so anything a
// browser lets a web page read from it, any web page the developer visits can read. Browsers ask
// first (CORS), so the API answers CORS only for the origins the web client is served from, and
// refuses any request that names another origin, including the "simple" ones browsers send
// without asking (a GET with ?apikey=, a text/plain POST). It also refuses a Host that is not a
// loopback name, which is how a DNS-rebinding page (evil.example resolving to 127.0.0.1) would
// reach it as its own origin.

/** Where `npm run dev` serves the web client unless PORT or HOST say otherwise (scripts/dev.mjs). */
export const DEV_ORIGINS: readonly string[] = ['http://127.0.0.1:8787', 'http://localhost:8787'];

/** Host names the API answers to: it listens on 127.0.0.1 only. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

const ALLOW_METHODS = 'GET, HEAD, POST, PATCH, PUT, DELETE, OPTIONS';
/** What supabase-js sends (and PostgREST's and GoTrue's clients may). */
const ALLOW_HEADERS =
  'authorization, apikey, content-type, x-client-info, x-supabase-api-version, accept, accept-profile, content-profile, prefer, range';
const EXPOSE_HEADERS = 'Content-Range, Content-Profile, Location, Preference-Applied';

/** `http://localhost:8787/` → `http://localhost:8787`; throws on anything that is not an http(s) origin. */
export function normalizeOrigin(origin: string): string {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new Error(`Not an origin: '${origin}' (expected e.g. http://127.0.0.1:8787)`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.pathname.length > 1 || url.search) {
    throw new Error(`Not an origin: '${origin}' (expected scheme://host[:port] and nothing else, e.g. http://127.0.0.1:8787)`);
  }
  return url.origin;
}

/**
 * The origins to allow for `npm run dev`: the defaults, the Worker's origin from PORT and HOST (as
 * scripts/dev.mjs starts it), and any listed, comma-separated, in SUPABASE_CORS_ORIGINS.
 */
export function devOrigins(env: { PORT?: string; HOST?: string; SUPABASE_CORS_ORIGINS?: string }): string[] {
  const port = env.PORT || '8787';
  const host = env.HOST || '127.0.0.1';
  const origins = [...DEV_ORIGINS, `http://127.0.0.1:${port}`, `http://localhost:${port}`];
  // A wildcard address is reached through one of the names above (or the machine's own address,
  // which only SUPABASE_CORS_ORIGINS can name).
  if (host !== '0.0.0.0' && host !== '::') origins.push(`http://${host.includes(':') ? `[${host}]` : host}:${port}`);
  for (const extra of (env.SUPABASE_CORS_ORIGINS ?? '').split(',')) {
    if (extra.trim() !== '') origins.push(extra.trim());
  }
  return [...new Set(origins.map(normalizeOrigin))];
}

/** Which browser origins may use the API, and what each request is answered with because of it. */
export class CorsPolicy {
  private readonly origins = new Set<string>();

  constructor(origins: Iterable<string> = DEV_ORIGINS) {
    for (const origin of origins) this.allow(origin);
  }

  /** Allows another origin from now on. */
  allow(origin: string): void {
    this.origins.add(normalizeOrigin(origin));
  }

  /** The allowed origins, normalised. */
  list(): string[] {
    return [...this.origins];
  }

  /**
   * The CORS headers for a request, and whether it is a preflight to answer with them alone.
   * @throws HttpError 403 for a Host that is not loopback, or an Origin that is not allowed.
   */
  decide(request: IncomingMessage): { headers: Record<string, string>; preflight: boolean } {
    const host = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(request.headers.host ?? '')?.[1]?.toLowerCase();
    if (host === undefined || !LOOPBACK_HOSTS.has(host)) {
      throw refusal(
        'host_not_allowed',
        `The local Supabase answers only requests to a loopback address (127.0.0.1, localhost, [::1]), not to Host '${(request.headers.host ?? '').slice(0, 100)}'.`,
        'Use the API URL it printed at start (SUPABASE_URL).',
      );
    }
    const origin = request.headers.origin;
    const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
    if (origin === undefined) return { headers: { Vary: 'Origin' }, preflight: false };
    if (!this.origins.has(origin)) {
      throw refusal(
        'origin_not_allowed',
        `The local Supabase does not answer requests from web pages at ${origin.slice(0, 100)}: only from ${this.list().join(', ')}.`,
        'Serve the web client from one of those origins, or add its origin (SUPABASE_CORS_ORIGINS for npm run dev, allowedOrigins or allowOrigin() for startLocalSupabase).',
      );
    }
    const headers: Record<string, string> = { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' };
    if (preflight) {
      headers['Access-Control-Allow-Methods'] = ALLOW_METHODS;
      headers['Access-Control-Allow-Headers'] = ALLOW_HEADERS;
      headers['Access-Control-Max-Age'] = '86400';
    } else {
      headers['Access-Control-Expose-Headers'] = EXPOSE_HEADERS;
    }
    return { headers, preflight };
  }
}

function refusal(code: string, message: string, hint: string): HttpError {
  return new HttpError(403, { code, message, details: null, hint });
}
