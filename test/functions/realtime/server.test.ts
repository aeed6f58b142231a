import { env } from 'cloudflare:workers';
import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { channelAuth, userAuth } from '../../../functions/realtime/signatures.ts';
import { RawClient } from '../../support/workerd/realtime-client.ts';

const key = env.PUSHER_APP_KEY;
const secret = env.PUSHER_APP_SECRET;
const open: RawClient[] = [];

async function connect(query?: string): Promise<RawClient> {
  const client = await RawClient.connect(key, query);
  open.push(client);
  return client;
}

afterEach(() => {
  for (const client of open.splice(0)) client.close();
});

function stub() {
  return env.REALTIME.get(env.REALTIME.idFromName(env.PUSHER_APP_ID));
}

async function subscribe(client: RawClient, channel: string, channelData?: string): Promise<void> {
  const socketId = await client.socketId();
  const auth = channel.startsWith('private-') || channel.startsWith('presence-') ? channelAuth(key, secret, socketId, channel, channelData) : undefined;
  client.send({ event: 'pusher:subscribe', data: { channel, ...(auth ? { auth } : {}), ...(channelData ? { channel_data: channelData } : {}) } });
  await client.next('pusher_internal:subscription_succeeded', channel);
}

describe('hibernation and eviction', () => {
  it('keeps subscriptions and presence members when the object is evicted and woken', async () => {
    const channel = `presence-room-${crypto.randomUUID()}`;
    const alice = await connect();
    const bob = await connect();
    await subscribe(alice, channel, JSON.stringify({ user_id: 'alice', user_info: { name: 'Alice' } }));
    await subscribe(bob, channel, JSON.stringify({ user_id: 'bob' }));
    await subscribe(bob, 'news');

    await runInDurableObject(stub(), (_instance, state) => {
      expect(state.getWebSockets().length).toBeGreaterThanOrEqual(2);
    });
    await evictDurableObject(stub());

    // A fresh instance serves the old sockets from their attachments and the SQLite channel store.
    await stub().publish({ channels: ['news', channel], name: 'tick', data: '{"n":1}' });
    expect((await bob.next('tick', 'news')).data).toEqual({ n: 1 });
    expect((await alice.next('tick', channel)).data).toEqual({ n: 1 });
    expect(await stub().presenceUsers(channel)).toEqual([{ id: 'alice' }, { id: 'bob' }]);

    // Sockets still act: bob leaves and alice hears member_removed.
    bob.send({ event: 'pusher:unsubscribe', data: { channel } });
    expect((await alice.next('pusher_internal:member_removed', channel)).data).toEqual({ user_id: 'bob' });
    expect((await stub().channelInfo(channel, ['user_count'])).user_count).toBe(1);
  });

  it('answers pusher:ping after eviction', async () => {
    const client = await connect();
    await client.socketId();
    await evictDurableObject(stub());
    client.send({ event: 'pusher:ping', data: {} });
    expect(await client.next('pusher:pong')).toMatchObject({ event: 'pusher:pong', data: {} });
  });
});

describe('sign-in across eviction', () => {
  it('remembers the signed-in user in the socket attachment', async () => {
    const client = await connect();
    const socketId = await client.socketId();
    const userData = JSON.stringify({ id: 'evicted-user' });
    client.send({ event: 'pusher:signin', data: { user_data: userData, auth: userAuth(key, secret, socketId, userData) } });
    await client.next('pusher:signin_success');
    await evictDurableObject(stub());
    client.send({ event: 'pusher:subscribe', data: { channel: '#server-to-user-evicted-user' } });
    await client.next('pusher_internal:subscription_succeeded', '#server-to-user-evicted-user');
    await stub().publish({ channels: ['#server-to-user-evicted-user'], name: 'notice', data: '"hi"' });
    expect((await client.next('notice')).data).toBe('hi');
    expect(await stub().terminateUserConnections('evicted-user')).toBe(1);
    expect((await client.waitClosed()).code).toBe(4009);
  });
});

describe('publish() RPC', () => {
  it('skips the socket given as socketId (toOthers)', async () => {
    const sender = await connect();
    const other = await connect();
    await subscribe(sender, 'private-others');
    await subscribe(other, 'private-others');
    await stub().publish({ channels: ['private-others'], name: 'said', data: '{}', socketId: await sender.socketId() });
    await other.next('said', 'private-others');
    await stub().publish({ channels: ['private-others'], name: 'marker', data: '{}' });
    expect(await sender.noneBefore('said', 'marker', 'private-others')).toBe(true);
  });
});

describe('logs', () => {
  it('carry no secret and no signature', async () => {
    const lines: string[] = [];
    const spies = (['debug', 'info', 'log', 'warn', 'error'] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' '))),
    );
    try {
      const client = await connect();
      const socketId = await client.socketId();
      const good = channelAuth(key, secret, socketId, 'private-logged');
      client.send({ event: 'pusher:subscribe', data: { channel: 'private-logged', auth: good } });
      await client.next('pusher_internal:subscription_succeeded', 'private-logged');
      client.send({ event: 'pusher:subscribe', data: { channel: 'private-logged-2', auth: `${key}:${'ab'.repeat(32)}` } });
      await client.next('pusher:subscription_error', 'private-logged-2');
      const userData = '{"id":"logged"}';
      const signin = userAuth(key, secret, socketId, `${userData} `);
      client.send({ event: 'pusher:signin', data: { user_data: userData, auth: signin } });
      await client.waitClosed();
      // The object's own log lines were captured (the spy sees the Durable Object's console).
      expect(lines.join('\n')).toContain('subscription refused: invalid auth');
      expect(lines.join('\n')).toContain('signin refused: invalid auth');
      const all = lines.join('\n');
      expect(all).not.toContain(secret);
      expect(all).not.toContain(good.split(':')[1]);
      expect(all).not.toContain('ab'.repeat(32));
      expect(all).not.toContain(signin.split(':')[1]);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});
