import * as Ably from 'ably';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { authorizeAbly } from '../../functions/broadcast/ably-tokens.ts';
import { mailboxChannels } from '../../functions/broadcast/mailbox-channels.ts';
import { allows } from '../support/node/ably-realtime-stub.ts';
import { startAblyRestStub } from '../support/node/ably-rest-stub.ts';

// The realtime half of the Ably stand-in must work with the real ably-js (its Node build here, the
// browser build in test/browser/ably.test.ts, ably-js 1 under @ably/laravel-echo in
// test/integration/ably-laravel-echo.test.ts) as Ably does: token auth with our JWTs, channel
// capabilities, delivery of REST publishes, echoMessages: false, presence, and clientIds bound as
// Ably binds them (https://ably.com/docs/auth/identified-clients).
const key = 'appId.keyId:the-key-secret';
const settings = { key: { name: 'appId.keyId', secret: 'the-key-secret' }, tokenTtlSeconds: 3600 };
let stub: Awaited<ReturnType<typeof startAblyRestStub>>;
const clients: Ably.Realtime[] = [];
beforeAll(async () => {
  stub = await startAblyRestStub(key, { realtime: true });
});
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});
afterAll(() => stub.close());

function user(id: string, role: 'admin' | 'user' = 'user') {
  return { id, email: undefined, profile: async () => ({ display_name: `Name ${id}`, role }) };
}

/** ably-js connected to the stand-in with the tokens `token` makes. */
function connect(token: () => Promise<string>, options: Ably.ClientOptions = {}): Ably.Realtime {
  const client = new Ably.Realtime({
    endpoint: '127.0.0.1',
    port: stub.port,
    tls: false,
    // The stand-in speaks the JSON format, as ably-js does in browsers.
    useBinaryProtocol: false,
    echoMessages: false,
    authCallback: (_params, callback) => {
      token().then(
        (jwt) => callback(null, jwt),
        (error: unknown) => callback(String(error), null),
      );
    },
    ...options,
  });
  clients.push(client);
  return client;
}

/** A token for `channels` from /broadcasting/auth's logic. */
async function channelAuthToken(userId: string, channels: string[], role: 'admin' | 'user' = 'user'): Promise<string> {
  let token: string | null = null;
  for (const channelName of [null, ...channels]) {
    const result = await authorizeAbly(mailboxChannels, user(userId, role), { channelName, token }, settings);
    if ('token' in result) token = result.token;
  }
  return token!;
}

/** ably-js connected to the stand-in with a token for `channels` from /broadcasting/auth's logic. */
function realtime(userId: string, channels: string[], role: 'admin' | 'user' = 'user'): Ably.Realtime {
  return connect(() => channelAuthToken(userId, channels, role));
}

/** An Ably JWT as any token server may sign one: for `clientId` (an id, `*`, or none), with `capability`. */
function signedToken(clientId: string | null, capability: Record<string, string[]>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ 'x-ably-capability': JSON.stringify(capability), ...(clientId === null ? {} : { 'x-ably-clientId': clientId }) })
    .setProtectedHeader({ typ: 'JWT', alg: 'HS256', kid: settings.key.name })
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(new TextEncoder().encode(settings.key.secret));
}

/** Ably's protocol message actions, as the raw frames below use them. */
const ACTION = { NACK: 2, CONNECTED: 4, ERROR: 9, ATTACH: 10, ATTACHED: 11, PRESENCE: 14 } as const;

/**
 * A WebSocket speaking the protocol's JSON frames directly, for what ably-js checks or refuses
 * itself before the server could: `next(action)` is the next frame with that action.
 */
function rawConnection(
  token: string,
  params = '',
): { send: (frame: object) => void; next: (action: number) => Promise<Record<string, unknown>> } {
  const ws = new WebSocket(`ws://127.0.0.1:${stub.port}/?access_token=${token}&format=json&v=2${params}`);
  const frames: Array<Record<string, unknown>> = [];
  const waiting: Array<() => void> = [];
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as Record<string, unknown>);
    for (const wake of waiting.splice(0)) wake();
  });
  const next = async (action: number): Promise<Record<string, unknown>> => {
    for (;;) {
      const index = frames.findIndex((frame) => frame.action === action);
      if (index !== -1) return frames.splice(index, 1)[0]!;
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  };
  clients.push({ close: () => ws.close() } as Ably.Realtime);
  return { send: (frame) => ws.send(JSON.stringify(frame)), next };
}

describe('the Ably realtime stand-in', () => {
  it('reads capabilities as Ably does: exact names, namespace wildcards and *', () => {
    expect(allows({ 'private:user.1': ['subscribe'] }, 'private:user.1', 'subscribe')).toBe(true);
    expect(allows({ 'private:user.1': ['subscribe'] }, 'private:user.1', 'presence')).toBe(false);
    expect(allows({ 'public:*': ['subscribe'] }, 'public:news', 'subscribe')).toBe(true);
    expect(allows({ 'public:*': ['subscribe'] }, 'private:user.2', 'subscribe')).toBe(false);
    expect(allows({ '*': ['*'] }, 'private:user.2', 'publish')).toBe(true);
  });

  it('connects ably-js with a channel-auth token, and delivers a REST publish decoded from JSON', async () => {
    const id = crypto.randomUUID();
    const client = realtime(id, [`private:user.${id}`]);
    await client.connection.once('connected');
    expect(client.auth.clientId).toBe(id);
    const channel = client.channels.get(`private:user.${id}`);
    const received = new Promise<Ably.Message>((resolve) => void channel.subscribe('email.updated', resolve));
    await channel.attach();
    expect((await stub.publish(`private:user.${id}`, { name: 'email.updated', data: '{"id":"e1"}', encoding: 'json' })).status).toBe(201);
    expect((await received).data).toEqual({ id: 'e1' });
  });

  it('fails a channel the token does not cover with 40160', async () => {
    const id = crypto.randomUUID();
    const client = realtime(id, [`private:user.${id}`]);
    const error = await client.channels
      .get(`private:user.${crypto.randomUUID()}`)
      .attach()
      .catch((e: Ably.ErrorInfo) => e);
    expect((error as Ably.ErrorInfo).code).toBe(40160);
  });

  it('leaves out the publisher’s own connection when it connected with echoMessages false', async () => {
    const id = crypto.randomUUID();
    const [sender, other] = [realtime(id, [`private:user.${id}`]), realtime(id, [`private:user.${id}`])];
    const [senderChannel, otherChannel] = [sender, other].map((c) => c.channels.get(`private:user.${id}`));
    const senderGot: string[] = [];
    await senderChannel!.subscribe((m) => void senderGot.push(m.name!));
    const otherGot = new Promise<string>((resolve) => void otherChannel!.subscribe('marker', (m) => resolve(m.name!)));
    await otherChannel!.attach();
    await stub.publish(`private:user.${id}`, {
      name: 'tick',
      data: '{}',
      encoding: 'json',
      connectionKey: sender.connection.key,
      clientId: id,
    });
    await stub.publish(`private:user.${id}`, { name: 'marker', data: '{}', encoding: 'json' });
    await otherGot;
    await expect.poll(() => senderGot).toEqual(['marker']);
  });

  it('lets an admin enter presence with data, and lists the members', async () => {
    const id = crypto.randomUUID();
    const client = realtime(id, ['presence:admins'], 'admin');
    const channel = client.channels.get('presence:admins');
    await channel.presence.enter({ name: 'Ada' });
    const members = await channel.presence.get();
    expect(members.map((m) => [m.clientId, m.data])).toContainEqual([id, { name: 'Ada' }]);
  });

  it('binds an identified connection to its token’s clientId: entering presence as another is refused with 40012', async () => {
    const id = crypto.randomUUID();
    const client = realtime(id, ['presence:admins'], 'admin');
    const channel = client.channels.get('presence:admins');
    await channel.attach();
    const refused = (await channel.presence
      .enterClient('someone-else', { name: 'Mallory' })
      .catch((e: Ably.ErrorInfo) => e)) as Ably.ErrorInfo;
    expect([refused.code, refused.statusCode]).toEqual([40012, 400]);
    await channel.presence.enter({ name: 'Ada' });
    const members = await channel.presence.get();
    expect(members.filter((m) => m.connectionId === client.connection.id).map((m) => m.clientId)).toEqual([id]);
  });

  it('refuses presence with no clientId, from an anonymous or a wildcard token, with 91000', async () => {
    const capability = { 'presence:room': ['subscribe', 'presence'] };
    for (const clientId of [null, '*']) {
      const raw = rawConnection(await signedToken(clientId, capability));
      await raw.next(ACTION.CONNECTED);
      raw.send({ action: ACTION.ATTACH, channel: 'presence:room' });
      await raw.next(ACTION.ATTACHED);
      raw.send({ action: ACTION.PRESENCE, channel: 'presence:room', msgSerial: 0, presence: [{ action: 2 /* enter */, data: 'here' }] });
      expect((await raw.next(ACTION.NACK)).error).toMatchObject({ code: 91000, statusCode: 400 });
    }
  });

  it('lets a wildcard token enter as any clientId, or connect as one it names', async () => {
    const capability = { 'presence:room': ['subscribe', 'presence'] };
    const room = `presence:room`;
    const anyone = connect(() => signedToken('*', capability));
    await anyone.connection.once('connected');
    expect(anyone.auth.clientId).toBe('*');
    const channel = anyone.channels.get(room);
    await channel.presence.enterClient('alice', { n: 1 });
    await channel.presence.enterClient('bob', { n: 2 });
    const carol = connect(() => signedToken('*', capability), { clientId: 'carol' });
    await carol.channels.get(room).presence.enter({ n: 3 });
    expect(carol.auth.clientId).toBe('carol');
    const members = (await channel.presence.get()).filter((m) => [anyone.connection.id, carol.connection.id].includes(m.connectionId));
    expect(members.map((m) => [m.clientId, m.data]).sort()).toEqual([
      ['alice', { n: 1 }],
      ['bob', { n: 2 }],
      ['carol', { n: 3 }],
    ]);
  });

  it('refuses a clientId the token does not name with 40102, which fails the connection', async () => {
    const id = crypto.randomUUID();
    // ably-js would also refuse a CONNECTED naming another clientId itself: the raw frames show the server's answer.
    for (const token of [await channelAuthToken(id, []), await signedToken(null, {})]) {
      const raw = rawConnection(token, '&clientId=mallory');
      expect((await raw.next(ACTION.ERROR)).error).toMatchObject({ code: 40102, statusCode: 401 });
    }
    const client = connect(() => channelAuthToken(id, []), { clientId: 'mallory' });
    const failed = await client.connection.once('failed');
    expect([failed.reason?.code, failed.reason?.statusCode]).toEqual([40102, 401]);
  });

  it('fails the connection with 40102 when a new token names another clientId, as @ably/laravel-echo expects after a sign-in', async () => {
    const [first, second] = [crypto.randomUUID(), crypto.randomUUID()];
    const client = realtime(first, [`private:user.${first}`]);
    await client.connection.once('connected');
    // The same clientId with more channels is an upgrade on the same connection.
    await client.auth.authorize(undefined, {
      authCallback: (_p, callback) => void signedToken(first, { '*': ['subscribe'] }).then((t) => callback(null, t)),
    });
    expect(client.connection.state).toBe('connected');
    const failed = client.connection.once('failed');
    const refused = await client.auth
      .authorize(undefined, { authCallback: (_p, callback) => void channelAuthToken(second, []).then((t) => callback(null, t)) })
      .catch((e: Ably.ErrorInfo) => e);
    expect((refused as Ably.ErrorInfo).code).toBe(40102);
    expect((await failed).reason?.code).toBe(40102);
  });
});
