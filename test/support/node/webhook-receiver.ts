import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';

/** One request the receiver got. */
export interface ReceivedWebhook {
  method: string;
  /** The path with its query string, as sent. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, exactly as sent (signatures cover these bytes). */
  body: string;
  /** The status the receiver answered. */
  status: number;
  receivedAt: number;
}

export interface WebhookReceiver {
  port: number;
  /** `http://127.0.0.1:{port}`: apps' webhook URLs are paths below it. */
  origin: string;
  /** Where the database webhook posts, standing in for the Worker's `/webhooks/db`. */
  url: string;
  /** Every request so far, in arrival order (a test may empty it). */
  received: ReceivedWebhook[];
  /** Resolves with `received` once it holds at least `count` requests; rejects after `timeoutMs`. */
  waitFor: (count: number, timeoutMs?: number) => Promise<ReceivedWebhook[]>;
  close: () => Promise<void>;
}

/**
 * A webhook endpoint on loopback that records every request and answers 200 `{"ok":true}`: the
 * database webhook's target in the local Supabase tests and benchmarks, and the realtime apps'
 * webhook URL in the workerd tests. Paths under `/flaky/` answer 500 to their first two requests,
 * so retries show. `GET /__received` returns what it recorded (for tests inside workerd).
 */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const failures = new Map<string, number>();
  /** Called after each recorded request (the waiters of waitFor). */
  const listeners = new Set<() => void>();
  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (request.method === 'GET' && url.pathname === '/__received') {
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(received));
      return;
    }
    const body = await text(request);
    let status = 200;
    if (url.pathname.startsWith('/flaky/')) {
      const failed = failures.get(url.pathname) ?? 0;
      if (failed < 2) {
        failures.set(url.pathname, failed + 1);
        status = 500;
      }
    }
    received.push({ method: request.method!, path: request.url!, headers: request.headers, body, status, receivedAt: Date.now() });
    response.writeHead(status, { 'Content-Type': 'application/json' }).end(status === 200 ? '{"ok":true}' : '{"ok":false}');
    for (const listener of listeners) listener();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    port,
    origin,
    url: `${origin}/webhooks/db`,
    received,
    waitFor: (count, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (received.length < count) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(received);
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`expected ${count} webhooks, got ${received.length} within ${timeoutMs} ms`));
        }, timeoutMs);
        listeners.add(check);
        check();
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Checks X-Tidings-Signature the way the Worker must: hex HMAC-SHA256 of `${timestamp}.${body}`. */
export function verifyWebhookSignature(headers: IncomingHttpHeaders, body: string, secret: string): boolean {
  const timestamp = headers['x-tidings-timestamp'];
  const signature = headers['x-tidings-signature'];
  if (typeof timestamp !== 'string' || typeof signature !== 'string' || !/^\d+$/.test(timestamp)) return false;
  const expected = `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
  return expected.length === signature.length && timingSafeEqual(Buffer.from(expected), Buffer.from(signature));
}
