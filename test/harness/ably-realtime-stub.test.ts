import * as Ably from 'ably';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { authorizeAbly } from '../../functions/broadcast/ably-tokens.ts';
import { mailboxChannels } from '../../functions/broadcast/mailbox-channels.ts';
import { allows } from '../support/node/ably-realtime-stub.ts';
import { startAblyRestStub } from '../support/node/ably-rest-stub.ts';

// The realtime half of the Ably stand-in must work with the real ably-js (its Node build here, the
// browser build in test/browser/ably.test.ts) as Ably does: token auth with our JWTs, channel
// capabilities, delivery of REST publishes, echoMessages: false, and presence.
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

/** ably-js connected to the stand-in with a token for `channels` from /broadcasting/auth's logic. */
function realtime(userId: string, channels: string[], role: 'admin' | 'user' = 'user'): Ably.Realtime {
  const client = new Ably.Realtime({
    endpoint: '127.0.0.1',
    port: stub.port,
    tls: false,
    // The stand-in speaks the JSON format, as ably-js does in browsers.
    useBinaryProtocol: false,
    echoMessages: false,
    authCallback: async (_params, callback) => {
      let token: string | null = null;
      for (const channelName of [null, ...channels]) {
        const result = await authorizeAbly(mailboxChannels, user(userId, role), { channelName, token }, settings);
        if ('token' in result) token = result.token;
      }
      callback(null, token);
    },
  });
  clients.push(client);
  return client;
}

async function publish(channel: string, message: Record<string, unknown>): Promise<Response> {
  return fetch(`http://127.0.0.1:${stub.port}/channels/${encodeURIComponent(channel)}/messages`, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from(key).toString('base64')}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(message),
  });
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
    expect((await publish(`private:user.${id}`, { name: 'email.updated', data: '{"id":"e1"}', encoding: 'json' })).status).toBe(201);
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
    await publish(`private:user.${id}`, { name: 'tick', data: '{}', encoding: 'json', connectionKey: sender.connection.key, clientId: id });
    await publish(`private:user.${id}`, { name: 'marker', data: '{}', encoding: 'json' });
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
});
