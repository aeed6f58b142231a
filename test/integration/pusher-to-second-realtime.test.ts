import { randomUUID } from 'node:crypto';
import Pusher from 'pusher-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EmailReceived, EmailUpdated, userChannel } from '../../functions/broadcast/events.ts';
import { connected, nextEvent, subscribed } from '../support/node/realtime-clients.ts';
import { type Stack, startStack } from '../support/node/stack.ts';
import { type RunningWorker, startWorker } from '../support/node/worker.ts';
import { type SeedUser, seedUsers } from '../support/seed-users.ts';

// The `pusher` broadcaster against a separate deployment of our realtime server, as an app on
// Laravel Reverb or soketi uses one: the app's Worker publishes through the official `pusher` SDK
// (PUSHER_HOST/PORT/SCHEME), the second Worker only serves WebSockets and the HTTP API, and
// pusher-js, configured from the app's GET /api/config and authorized by its /broadcasting/auth,
// receives the event from the second one. The change comes from the database, through the outbox.
describe('the pusher broadcaster with a second realtime server', () => {
  let realtime: RunningWorker;
  let stack: Stack;
  let app: RunningWorker;
  const clients: Pusher[] = [];

  beforeAll(async () => {
    // Port 9 (discard) is closed: the realtime server needs no database.
    realtime = await startWorker({ vars: { LOG_LEVEL: 'warn', SUPABASE_URL: 'http://127.0.0.1:9' } });
    stack = await startStack({
      workerVars: {
        LOG_LEVEL: 'warn',
        BROADCAST_DRIVER: 'pusher',
        PUSHER_HOST: '127.0.0.1',
        PUSHER_PORT: String(realtime.port),
        PUSHER_SCHEME: 'http',
      },
    });
    app = stack.worker;
  });
  afterAll(async () => {
    await stack?.stop();
    await realtime?.stop();
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });

  /** pusher-js as the web client builds it from the app's /api/config, authorized by the app. */
  async function browserClient(user: SeedUser): Promise<Pusher> {
    const { pusher: config } = (await (await fetch(`${app.url}/api/config`)).json()) as {
      pusher: { key: string; wsHost: string; wsPort: number; forceTLS: boolean; cluster: string };
    };
    const token = await stack.supabase.accessToken(user);
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

  it('delivers database changes published through the pusher SDK to pusher-js on the second server', async () => {
    const client = await browserClient(seedUsers.ada);
    await connected(client);
    const channel = userChannel(seedUsers.ada.id);
    await subscribed(client, channel);
    const db = await stack.supabase.connect();

    const received = nextEvent(client, channel, EmailReceived.name);
    const { rows } = await db.query<{ id: string }>(
      `insert into public.emails (sender_id, recipient_id, subject, body) values ($1, $2, 'Through Reverb-like hosting', 'Hello') returning id`,
      [seedUsers.admin.id, seedUsers.ada.id],
    );
    expect(await received).toMatchObject({ id: rows[0]!.id, subject: 'Through Reverb-like hosting', sender_name: seedUsers.admin.name });

    const updated = nextEvent(client, channel, EmailUpdated.name);
    const { rows: read } = await db.query<{ read_at: Date }>('update public.emails set read_at = now() where id = $1 returning read_at', [
      rows[0]!.id,
    ]);
    expect(await updated).toMatchObject({ id: rows[0]!.id, read_at: expect.any(String) });
    expect(Date.parse(((await updated) as { read_at: string }).read_at)).toBe(read[0]!.read_at.getTime());
  });

  it('refuses another user’s channel at the app, so the second server never subscribes it', async () => {
    const client = await browserClient(seedUsers.grace);
    await connected(client);
    await expect(subscribed(client, `private-user.${randomUUID()}`)).rejects.toThrow(/^subscription_error on private-user\./);
  });
});
