import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';

/** A request the stub accepted, as the test sees it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: string;
}

/**
 * Pusher's published request signature: hex HMAC-SHA256 of `METHOD\nPATH\nQUERY`, where QUERY is
 * every parameter but `auth_signature`, keys lower-cased and sorted, joined unescaped.
 */
export function signPusherRequest(secret: string, method: string, path: string, params: Record<string, string>): string {
  const query = Object.keys(params)
    .filter((key) => key !== 'auth_signature')
    .map((key) => [key.toLowerCase(), params[key]] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
  return createHmac('sha256', secret).update(`${method}\n${path}\n${query}`).digest('hex');
}

/** Checks a request against Pusher's HTTP API rules; returns the problem, or null when it is valid. */
export function checkSignedRequest(
  app: { key: string; secret: string },
  method: string,
  path: string,
  query: Record<string, string>,
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): string | null {
  if (query.auth_key !== app.key) return `unknown auth_key '${query.auth_key}'`;
  if (query.auth_version !== '1.0') return `unsupported auth_version '${query.auth_version}'`;
  const timestamp = Number(query.auth_timestamp);
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > 600) return 'stale auth_timestamp';
  if (body.length > 0 && query.body_md5 !== createHash('md5').update(body, 'utf8').digest('hex')) return 'body_md5 mismatch';
  const expected = Buffer.from(signPusherRequest(app.secret, method, path, query));
  const given = Buffer.from(query.auth_signature ?? '');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'invalid auth_signature';
  return null;
}

/** Pusher's published limits: 10 KB of data per event, 10 events per batch on multi-tenant clusters. */
const EVENT_DATA_BYTES = 10_240;
const EVENTS_PER_BATCH = 10;

/** Checks an events or batch_events body against Pusher's limits; the status and problem, or null. */
export function checkEventLimits(path: string, body: string): { status: 400 | 413; problem: string } | null {
  const tooLarge = (data: unknown) => typeof data === 'string' && Buffer.byteLength(data) > EVENT_DATA_BYTES;
  if (path.endsWith('/batch_events')) {
    const { batch } = JSON.parse(body) as { batch: Array<{ channel?: unknown; data?: unknown }> };
    if (batch.length > EVENTS_PER_BATCH)
      return { status: 400, problem: `Batch too large: ${batch.length} events (at most ${EVENTS_PER_BATCH})` };
    if (batch.some((event) => typeof event.channel !== 'string')) return { status: 400, problem: 'Each batch event needs one channel' };
    if (batch.some((event) => tooLarge(event.data))) return { status: 413, problem: 'Event data too large' };
  } else if (path.endsWith('/events') && tooLarge((JSON.parse(body) as { data?: unknown }).data)) {
    return { status: 413, problem: 'Event data too large' };
  }
  return null;
}

/**
 * A stand-in for Pusher Channels' HTTP API (hosted Pusher cannot run here): it verifies each
 * request's signature as Pusher documents it, answers 401 when it does not verify, 400 or 413 when
 * an event breaks Pusher's published limits, 503 for a channel named `stub-unavailable…`, and 200
 * `{}` otherwise, and records what it accepted.
 */
export async function startPusherApiStub(app: { key: string; secret: string }): Promise<{
  port: number;
  accepted: RecordedRequest[];
  close: () => Promise<void>;
}> {
  const accepted: RecordedRequest[] = [];
  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const body = await text(request);
    const query = Object.fromEntries(url.searchParams);
    response.setHeader('content-type', 'application/json');
    // Not part of Pusher's API: lets a test inside workerd read what the stub accepted.
    if (url.pathname === '/__accepted') {
      response.writeHead(200).end(JSON.stringify(accepted));
      return;
    }
    const problem = checkSignedRequest(app, request.method ?? 'GET', url.pathname, query, body);
    if (problem) {
      response.writeHead(401).end(JSON.stringify({ error: problem }));
      return;
    }
    // Not Pusher's behaviour for any input: a channel named `stub-unavailable…` stands for Pusher
    // failing (its HTTP API can answer 5xx), so tests can see a server error.
    if (body.includes('stub-unavailable')) {
      response.writeHead(503).end(JSON.stringify({ error: 'Service unavailable' }));
      return;
    }
    const overLimit = request.method === 'POST' ? checkEventLimits(url.pathname, body) : null;
    if (overLimit) {
      response.writeHead(overLimit.status).end(JSON.stringify({ error: overLimit.problem }));
      return;
    }
    accepted.push({ method: request.method ?? 'GET', path: url.pathname, query, body });
    response.writeHead(200).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    accepted,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
