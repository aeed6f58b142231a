// The real @ably/laravel-echo against the real stack with BROADCAST_DRIVER=ably: a local Supabase
// whose webhook reaches the Worker under `wrangler dev`, which publishes to the Ably stand-in's REST
// half (test/support/node/ably-rest-stub.ts) and signs Echo's tokens at POST /broadcasting/auth;
// Echo's ably-js connects to the stand-in's realtime half. Ably itself cannot run here: the stand-in
// is checked against ably-js in test/harness/.
//
// @ably/laravel-echo 1.0.6 needs ably-js 1 (its peer dependency is ably ^1.2: it calls ably-js 1's
// callback API and internals), which it takes from the global `Ably`, as its README sets it up; the
// project's own ably-js 2 (the web client's) stays the `ably` package, and ably-js 1 is `ably-v1`.

import Echo from '@ably/laravel-echo';
import type { AblyPresenceChannel, AblyPrivateChannel } from '@ably/laravel-echo/dist/src/channel';
import AblyV1 from 'ably-v1';
import { decodeJwt } from 'jose';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeAblySocketId } from '../../functions/broadcast/ably-rules.ts';
import { ADMIN_PRESENCE_CHANNEL, EmailDeleted, EmailReceived, EmailUpdated } from '../../functions/broadcast/events.ts';
import { ablyStubVars, TEST_ABLY_KEY } from '../support/ably-key.ts';
import { startAblyRestStub } from '../support/node/ably-rest-stub.ts';
import { type Stack, startStack } from '../support/node/stack.ts';
import { seedUsers } from '../support/seed-users.ts';

Object.assign(globalThis, { Ably: AblyV1 });

type Person = 'admin' | 'ada';

/** An ably-js 1 ErrorInfo, as Echo's error listeners receive it. */
interface AblyError {
  message: string;
  code: number;
  statusCode: number;
}

let ably: Awaited<ReturnType<typeof startAblyRestStub>>;
let stack: Stack;
let db: pg.Client;
const accessTokens: Record<Person, string> = { admin: '', ada: '' };
const echoes: Echo[] = [];

beforeAll(async () => {
  ably = await startAblyRestStub(TEST_ABLY_KEY, { realtime: true });
  stack = await startStack({ workerVars: ablyStubVars(ably.port) });
  db = await stack.supabase.connect();
  for (const person of ['admin', 'ada'] as const) accessTokens[person] = await stack.supabase.accessToken(seedUsers[person]);
}, 120_000);
afterEach(() => {
  for (const echo of echoes.splice(0)) echo.disconnect();
});
afterAll(async () => {
  await stack?.stop();
  await ably?.close();
});

/**
 * Echo as a Laravel app on Ably sets it up (broadcaster 'ably', authEndpoint), signed in as the web
 * client is: the Supabase access token in the auth endpoint's headers.
 */
function echoFor(person: Person): Echo {
  const echo = new Echo({
    broadcaster: 'ably',
    authEndpoint: `${stack.worker.url}/broadcasting/auth`,
    auth: { headers: { Authorization: `Bearer ${accessTokens[person]}` } },
    // ably-js 1's client options: the stand-in, over plain HTTP, in the JSON format browsers use.
    realtimeHost: '127.0.0.1',
    restHost: '127.0.0.1',
    port: ably.port,
    tls: false,
    useBinaryProtocol: false,
  });
  echoes.push(echo);
  return echo;
}

/** Echo's `join()` name for presence-admins: Echo adds the prefix (`presence:admins` on Ably). */
const ADMINS = ADMIN_PRESENCE_CHANNEL.slice('presence-'.length);

// Echo's types name the base classes; with broadcaster 'ably' they are Ably channels, whose
// `channel` is ably-js's (src/connector/ably-connector.ts, privateChannel and presenceChannel).
const privateChannel = (echo: Echo, name: string) => echo.private(name) as AblyPrivateChannel;
const presenceChannel = (echo: Echo, name: string) => echo.join(name) as AblyPresenceChannel;

/** Resolves once Echo's channel is attached. */
function subscribed(channel: AblyPrivateChannel): Promise<void> {
  return new Promise((resolve) => channel.subscribed(() => resolve()));
}

/** Every error Echo reports for the channel from now on (a capability refusal it then mends counts too). */
function errorsOf(channel: AblyPrivateChannel | AblyPresenceChannel): unknown[] {
  const errors: unknown[] = [];
  channel.error((error: unknown) => errors.push(error));
  return errors;
}

/** The first error Echo reports for the channel. */
function refusal(channel: AblyPrivateChannel | AblyPresenceChannel): Promise<AblyError> {
  return new Promise((resolve) => channel.error((error: AblyError) => resolve(error)));
}

/** The channels the token Echo's connection holds allows, by Ably name. */
function heldCapability(echo: Echo): Record<string, string[]> {
  const token = (echo.connector.ably.auth.tokenDetails as { token: string }).token;
  return JSON.parse(String(decodeJwt(token)['x-ably-capability'])) as Record<string, string[]>;
}

describe('@ably/laravel-echo on Tidings’ ably broadcaster', () => {
  it('hears email.received on the user’s private channel for an email inserted with plain SQL', async () => {
    const echo = echoFor('ada');
    const channel = privateChannel(echo, `user.${seedUsers.ada.id}`);
    const errors = errorsOf(channel);
    const received = new Promise<unknown>((resolve) => channel.listen(`.${EmailReceived.name}`, resolve));
    await subscribed(channel);
    expect(channel.name).toBe(`private:user.${seedUsers.ada.id}`);
    expect(echo.connector.ably.auth.clientId).toBe(seedUsers.ada.id);

    const { rows } = await db.query<{ id: string }>(
      `insert into public.emails (sender_id, recipient_id, subject, body) values ($1, $2, 'Over Echo', 'Sent with psql.') returning id`,
      [seedUsers.admin.id, seedUsers.ada.id],
    );
    expect(EmailReceived.schema.parse(await received)).toMatchObject({
      id: rows[0]!.id,
      sender_id: seedUsers.admin.id,
      sender_name: seedUsers.admin.name,
      subject: 'Over Echo',
      preview: 'Sent with psql.',
    });
    expect(errors).toEqual([]);
  });

  it('is refused another user’s private channel and a presence channel it may not join, with the reason', async () => {
    const echo = echoFor('ada');
    const other = privateChannel(echo, `user.${seedUsers.grace.id}`);
    expect(await refusal(other)).toMatchObject({
      message: `You may not join private-user.${seedUsers.grace.id}`,
      statusCode: 403,
      code: 40300,
    });
    const admins = presenceChannel(echo, ADMINS);
    expect(await refusal(admins)).toMatchObject({ message: `You may not join ${ADMIN_PRESENCE_CHANNEL}`, statusCode: 403 });

    // The connection goes on: its own channel still joins, and its token never covered the others.
    const own = privateChannel(echo, `user.${seedUsers.ada.id}`);
    await subscribed(own);
    expect(other.channel.state).not.toBe('attached');
    expect(Object.keys(heldCapability(echo)).sort()).toEqual([`private:user.${seedUsers.ada.id}`, 'public:*']);
  });

  it('joins presence-admins as an admin and sees itself with its clientId and member info, then another tab come and go', async () => {
    const echo = echoFor('admin');
    const channel = presenceChannel(echo, ADMINS);
    const errors = errorsOf(channel);
    const info = { name: seedUsers.admin.name, role: 'admin' };
    const here = await new Promise<unknown[]>((resolve) => channel.here((members: unknown[]) => members.length > 0 && resolve(members)));
    expect(here).toEqual([info]);
    const members = await new Promise<Array<{ clientId: string; connectionId: string; data: unknown }>>((resolve, reject) =>
      channel.channel.presence.get((error: unknown, list: Array<{ clientId: string; connectionId: string; data: unknown }>) =>
        error ? reject(error) : resolve(list),
      ),
    );
    expect(members.map((m) => [m.clientId, m.connectionId, m.data])).toEqual([
      [seedUsers.admin.id, echo.connector.ably.connection.id, info],
    ]);

    const joined = new Promise<[unknown, { clientId: string; connectionId: string }]>((resolve) =>
      channel.joining((data: unknown, meta: { clientId: string; connectionId: string }) => resolve([data, meta])),
    );
    const left = new Promise<{ clientId: string; connectionId: string }>((resolve) =>
      channel.leaving((_data: unknown, meta: { clientId: string; connectionId: string }) => resolve(meta)),
    );
    const secondTab = echoFor('admin');
    presenceChannel(secondTab, ADMINS);
    const [data, meta] = await joined;
    expect(data).toEqual(info);
    expect(meta.clientId).toBe(seedUsers.admin.id);
    const secondConnection = secondTab.connector.ably.connection.id as string;
    expect(meta.connectionId).toBe(secondConnection);
    secondTab.disconnect();
    expect(await left).toMatchObject({ clientId: seedUsers.admin.id, connectionId: secondConnection });
    expect(errors).toEqual([]);
  });

  it('leaves out the connection its socket id names (toOthers): Echo’s X-Socket-ID decodes to its connection', async () => {
    const channelName = `private:user.${seedUsers.ada.id}`;
    /** One Echo per tab, hearing both events. */
    async function tab(): Promise<{ echo: Echo; heard: string[]; errors: unknown[] }> {
      const echo = echoFor('ada');
      const heard: string[] = [];
      const channel = privateChannel(echo, `user.${seedUsers.ada.id}`);
      const errors = errorsOf(channel);
      for (const event of [EmailUpdated.name, EmailDeleted.name]) channel.listen(`.${event}`, () => heard.push(event));
      await subscribed(channel);
      return { echo, heard, errors };
    }
    // Echo authorizes attaches by patching ably-js's channel prototype (src/channel/ably/attach.ts),
    // so the last Echo made authorizes every instance's attaches: as in two tabs (one Echo each),
    // each tab's channel is attached before the next tab is made.
    const otherTab = await tab();
    const sender = await tab();
    // What Echo's request interceptors send as X-Socket-ID, read as the ably broadcaster reads it.
    const sent = decodeAblySocketId(sender.echo.socketId());
    expect(sent).toEqual({ connectionKey: sender.echo.connector.ably.connection.key, clientId: seedUsers.ada.id });
    // Published with the key as the ably broadcaster publishes an event with that socket id (the message
    // test/functions/broadcast/drivers/ably.test.ts pins), then an event for everyone.
    const emailId = crypto.randomUUID();
    const data = JSON.stringify({ id: emailId, read_at: null });
    expect((await ably.publish(channelName, { name: EmailUpdated.name, data, encoding: 'json', ...sent })).status).toBe(201);
    expect(
      (await ably.publish(channelName, { name: EmailDeleted.name, data: JSON.stringify({ id: emailId }), encoding: 'json' })).status,
    ).toBe(201);

    // Frames on one connection arrive in order: the sender heard the second event and nothing before it.
    await expect.poll(() => otherTab.heard).toEqual([EmailUpdated.name, EmailDeleted.name]);
    await expect.poll(() => sender.heard).toEqual([EmailDeleted.name]);
    const published = ably.accepted.flatMap((r) => r.messages).find((m) => m.name === EmailUpdated.name && m.data === data);
    expect(published?.connectionId).toBe(sender.echo.connector.ably.connection.id);
    expect([otherTab.errors, sender.errors]).toEqual([[], []]);
  });
});
