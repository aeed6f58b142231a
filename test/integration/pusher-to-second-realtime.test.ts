import { randomUUID } from 'node:crypto';
import Pusher from 'pusher-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readEmailUpdate, signedDbWebhook } from '../support/node/db-webhook.ts';
import { readDevVars } from '../support/node/dev-vars.ts';
import { connected, nextEvent, subscribed } from '../support/node/realtime-clients.ts';
import { type RunningWorker, startWorker } from '../support/node/worker.ts';
import { hs256Token } from '../support/tokens.ts';

// The `pusher` broadcaster against a separate deployment of our realtime server, as an app on
// Laravel Reverb or soketi uses one: the app's Worker publishes through the official `pusher` SDK
// (PUSHER_HOST/PORT/SCHEME), the second Worker only serves WebSockets and the HTTP API, and
// pusher-js, configured from the app's GET /api/config and authorized by its /broadcasting/auth,
// receives the event from the second one. No database: updates are published from the webhook.
describe('the pusher broadcaster with a second realtime server', () => {
  const vars = readDevVars();
  let realtime: RunningWorker;
  let app: RunningWorker;
  const clients: Pusher[] = [];

  beforeAll(async () => {
    // Port 9 (discard) is closed: neither Worker reaches a database.
    realtime = await startWorker({ vars: { LOG_LEVEL: 'warn', SUPABASE_URL: 'http://127.0.0.1:9' } });
    app = await startWorker({
      vars: {
        LOG_LEVEL: 'warn',
        BROADCAST_DRIVER: 'pusher',
        PUSHER_HOST: '127.0.0.1',
        PUSHER_PORT: String(realtime.port),
        PUSHER_SCHEME: 'http',
        SUPABASE_URL: 'http://127.0.0.1:9',
      },
    });
  });
  afterAll(async () => {
    await app?.stop();
    await realtime?.stop();
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });

  /** A Supabase session for `userId` as the app's settings accept it (HS256, its issuer). */
  function session(userId: string): Promise<string> {
    return hs256Token(
      { sub: userId, aud: 'authenticated', role: 'authenticated', iss: 'http://127.0.0.1:9/auth/v1' },
      vars.SUPABASE_JWT_SECRET!,
      300,
    );
  }

  /** pusher-js as the web client builds it from the app's /api/config, authorized by the app. */
  async function browserClient(userId: string): Promise<Pusher> {
    const { pusher: config } = (await (await fetch(`${app.url}/api/config`)).json()) as {
      pusher: { key: string; wsHost: string; wsPort: number; forceTLS: boolean; cluster: string };
    };
    const token = await session(userId);
    const client = new Pusher(config.key, {
      cluster: config.cluster,
      wsHost: config.wsHost,
      wsPort: config.wsPort,
      forceTLS: config.forceTLS,
      enabledTransports: ['ws'],
      disableStats: true,
      channelAuthorization: {
        endpoint: `${app.url}/broadcasting/auth`,
        transport: 'ajax',
        customHandler: ({ socketId, channelName }, callback) => {
          fetch(`${app.url}/broadcasting/auth`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ socket_id: socketId, channel_name: channelName }),
          })
            .then(async (response) =>
              response.ok ? callback(null, await response.json()) : callback(new Error(`HTTP ${response.status}`), null),
            )
            .catch((error: Error) => callback(error, null));
        },
      },
    });
    clients.push(client);
    return client;
  }

  it('points pusher-js at the second server, not at the app', async () => {
    const { pusher } = (await (await fetch(`${app.url}/api/config`)).json()) as { pusher: { wsHost: string; wsPort: number } };
    expect(pusher).toMatchObject({ wsHost: '127.0.0.1', wsPort: realtime.port, forceTLS: false });
  });

  it('delivers a database change published through the pusher SDK to pusher-js on the second server', async () => {
    const recipient = randomUUID();
    const client = await browserClient(recipient);
    await connected(client);
    const channel = `private-user.${recipient}`;
    await subscribed(client, channel);
    const received = nextEvent(client, channel, 'email.updated');

    const { row, body } = readEmailUpdate(recipient);
    const response = await fetch(`${app.url}/webhooks/db`, signedDbWebhook(vars.DB_WEBHOOK_SECRET!, body));
    expect(response.status).toBe(200);
    expect(await received).toEqual({ id: row.id, read_at: row.read_at });
  });

  it('refuses another user’s channel at the app, so the second server never subscribes it', async () => {
    const client = await browserClient(randomUUID());
    await connected(client);
    await expect(subscribed(client, `private-user.${randomUUID()}`)).rejects.toThrow(/^subscription_error on private-user\./);
  });
});
