import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';

/** A webhook request as the receiver got it. */
export interface ReceivedWebhook {
  path: string;
  key: string | undefined;
  signature: string | undefined;
  body: string;
  /** The status the receiver answered. */
  status: number;
}

/**
 * An app's webhook endpoint on loopback, for the realtime server's webhook tests. It records every
 * POST; paths under `/flaky/` answer 500 to their first two requests, then 204, so retries show.
 * `GET /__received` returns what it recorded (for tests inside workerd).
 */
export async function startWebhookReceiver(): Promise<{ port: number; received: ReceivedWebhook[]; close: () => Promise<void> }> {
  const received: ReceivedWebhook[] = [];
  const failures = new Map<string, number>();
  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (request.method === 'GET' && url.pathname === '/__received') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(received));
      return;
    }
    const body = await text(request);
    let status = 204;
    if (url.pathname.startsWith('/flaky/')) {
      const failed = failures.get(url.pathname) ?? 0;
      if (failed < 2) {
        failures.set(url.pathname, failed + 1);
        status = 500;
      }
    }
    received.push({
      path: url.pathname,
      key: request.headers['x-pusher-key'] as string | undefined,
      signature: request.headers['x-pusher-signature'] as string | undefined,
      body,
      status,
    });
    response.writeHead(status).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
