import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { MAX_SHARDS, shardOfSocketId } from '../../../functions/realtime/frames.ts';
import { pickShard } from '../../../functions/realtime/placement.ts';
import { channelAuth, userAuth } from '../../../functions/realtime/signatures.ts';
import { channel, clientsOnDistinctShards, publish, shard, shardCount, shardOf, subscribe } from '../../support/workerd/realtime.ts';
import { clientsClosedAfterEach, type RawClient } from '../../support/workerd/realtime-client.ts';

const key = env.PUSHER_APP_KEY;
const secret = env.PUSHER_APP_SECRET;
const connect = clientsClosedAfterEach(key);

describe(`connection shards (REALTIME_SHARDS=${shardCount})`, () => {
  it('spreads sockets over the shards, each socket in exactly one, named by its socket id', async () => {
    const clients = await Promise.all(Array.from({ length: 4 * shardCount }, () => connect()));
    const socketIds = await Promise.all(clients.map((client) => client.socketId()));
    const placed = await Promise.all(socketIds.map((socketId) => shardOf(socketId)));
    expect(placed.every((index) => index >= 0 && index < shardCount)).toBe(true);
    expect(socketIds.map(shardOfSocketId)).toEqual(placed);
    if (shardCount > 1) expect(new Set(placed).size).toBeGreaterThan(1);
  });

  it('places connections evenly: every shard takes an equal share of uniform draws, the largest draw the last shard', () => {
    for (const shards of [1, 8, MAX_SHARDS]) {
      const perShard = Array<number>(shards).fill(0);
      const draws = 4 * shards;
      for (let i = 0; i < draws; i++) perShard[pickShard({ shards }, () => i / draws)]! += 1;
      expect(perShard).toEqual(Array<number>(shards).fill(4));
      expect(pickShard({ shards }, () => 1 - Number.EPSILON)).toBe(shards - 1);
    }
  });
});

describe('subscribe and unsubscribe back to back', () => {
  it('leaves a channel unsubscribed when the unsubscribe comes before the join is done, as the frames’ order says', async () => {
    const room = `presence-race-${crypto.randomUUID()}`;
    const [observer, racer] = await clientsOnDistinctShards(connect, 2);
    await subscribe(observer!, room, { channelData: JSON.stringify({ user_id: 'observer' }) });
    const racerId = await racer!.socketId();
    const channelData = JSON.stringify({ user_id: 'racer' });
    // Both frames at once, as a client that does not wait for subscription_succeeded sends them.
    racer!.send({
      event: 'pusher:subscribe',
      data: { channel: room, auth: channelAuth(key, env.PUSHER_APP_SECRET, racerId, room, channelData), channel_data: channelData },
    });
    racer!.send({ event: 'pusher:unsubscribe', data: { channel: room } });
    // It joined (its subscribe came first), then left (its unsubscribe came next).
    expect((await observer!.next('pusher_internal:member_added', room)).data).toEqual({ user_id: 'racer', user_info: null });
    expect((await observer!.next('pusher_internal:member_removed', room)).data).toEqual({ user_id: 'racer' });
    expect(await channel(room).stub.users(channel(room).target)).toEqual([{ id: 'observer' }]);
    // No answer to a subscription the socket gave up, and no events from the channel afterwards.
    await publish({ channels: [room], name: 'after', data: '{}' });
    await observer!.next('after', room);
    racer!.send({ event: 'pusher:ping', data: {} });
    expect(await racer!.noneBefore('pusher_internal:subscription_succeeded', 'pusher:pong')).toBe(true);
    expect(racer!.frames.filter((frame) => frame.channel === room)).toEqual([]);
  });
});

describe('hibernation and eviction', () => {
  it('keeps subscriptions and presence members when any single object is evicted and woken', async () => {
    const room = `presence-room-${crypto.randomUUID()}`;
    const [alice, bob] = await clientsOnDistinctShards(connect, 2);
    await subscribe(alice!, room, { channelData: JSON.stringify({ user_id: 'alice', user_info: { name: 'Alice' } }) });
    await subscribe(bob!, room, { channelData: JSON.stringify({ user_id: 'bob' }) });
    await subscribe(bob!, 'news');
    const shards = [await shardOf(await alice!.socketId()), await shardOf(await bob!.socketId())];
    const objects: DurableObjectStub[] = [...[...new Set(shards)].map((index) => shard(index)), channel(room).stub, channel('news').stub];

    for (const [round, object] of objects.entries()) {
      await evictDurableObject(object);
      // A fresh instance serves the old sockets from their attachments and its SQLite state.
      await publish({ channels: ['news', room], name: 'tick', data: JSON.stringify({ round }) });
      expect((await bob!.next('tick', 'news')).data).toEqual({ round });
      expect((await alice!.next('tick', room)).data).toEqual({ round });
    }
    expect(await channel(room).stub.users(channel(room).target)).toEqual([{ id: 'alice' }, { id: 'bob' }]);

    // Sockets still act: bob leaves and alice, on another shard, hears member_removed.
    bob!.send({ event: 'pusher:unsubscribe', data: { channel: room } });
    expect((await alice!.next('pusher_internal:member_removed', room)).data).toEqual({ user_id: 'bob' });
    expect((await channel(room).stub.info(channel(room).target, ['user_count'])).user_count).toBe(1);
  });

  it('answers pusher:ping after its shard is evicted', async () => {
    const client = await connect();
    await evictDurableObject(shard(await shardOf(await client.socketId())));
    client.send({ event: 'pusher:ping', data: {} });
    expect(await client.next('pusher:pong')).toMatchObject({ event: 'pusher:pong', data: {} });
  });

  it('makes the sockets that vanished while a shard was away leave their channels', async () => {
    const name = `presence-vanish-${crypto.randomUUID()}`;
    const [stays, goes] = await clientsOnDistinctShards(connect, 2);
    await subscribe(stays!, name, { channelData: JSON.stringify({ user_id: 'stays' }) });
    await subscribe(goes!, name, { channelData: JSON.stringify({ user_id: 'goes' }) });
    const goneShard = await shardOf(await goes!.socketId());
    // The socket disappears without a close the shard sees: its attachment is dropped, as when the
    // runtime lost the connection while the object was gone.
    await runInDurableObject(shard(goneShard), (_instance, state) => {
      for (const ws of state.getWebSockets()) ws.serializeAttachment(null);
    });
    await evictDurableObject(shard(goneShard));
    await shard(goneShard).channels('');
    if (shardCount > 1) expect((await stays!.next('pusher_internal:member_removed', name)).data).toEqual({ user_id: 'goes' });
    await expect.poll(() => channel(name).stub.users(channel(name).target)).toEqual(shardCount > 1 ? [{ id: 'stays' }] : []);
  });

  it('leaves again, from its alarm, a channel whose object failed the leave of a closed socket, until it succeeds', async () => {
    const name = `presence-failed-leave-${crypto.randomUUID()}`;
    const [stays, goes] = await clientsOnDistinctShards(connect, 2);
    await subscribe(stays!, name, { channelData: JSON.stringify({ user_id: 'stays' }) });
    await subscribe(goes!, name, { channelData: JSON.stringify({ user_id: 'goes' }) });
    const goneShard = await shardOf(await goes!.socketId());
    // The channel object fails the next two leaves, as one being reset, overloaded or evicted mid-call does.
    let failedLeaves = 0;
    await runInDurableObject(channel(name).stub, (_instance, state) => {
      const sql = state.storage.sql;
      const exec = sql.exec.bind(sql);
      sql.exec = ((query: string, ...bindings: unknown[]) => {
        if (!query.startsWith('select user_id, shard from subscribers')) return exec(query, ...bindings);
        failedLeaves += 1;
        if (failedLeaves === 2) sql.exec = exec;
        throw new Error('channel object reset');
      }) as typeof sql.exec;
    });
    const warnings = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      goes!.close();
      await expect.poll(() => failedLeaves).toBe(1);
      // Without another try, 'goes' would stay a member for good: listed, counted, never removed.
      expect(await runDurableObjectAlarm(shard(goneShard))).toBe(true);
      expect(failedLeaves).toBe(2);
      expect(await channel(name).stub.users(channel(name).target)).toEqual([{ id: 'stays' }, { id: 'goes' }]);
      // Failed again: the alarm is set again, even on a shard with no socket left.
      expect(await runDurableObjectAlarm(shard(goneShard))).toBe(true);
    } finally {
      warnings.mockRestore();
    }
    expect((await stays!.next('pusher_internal:member_removed', name)).data).toEqual({ user_id: 'goes' });
    expect(await channel(name).stub.users(channel(name).target)).toEqual([{ id: 'stays' }]);
  });
});

describe('sign-in across shards and eviction', () => {
  it('reaches and terminates every signed-in socket of a user, whatever its shard', async () => {
    const userId = `user-${crypto.randomUUID()}`;
    const userData = JSON.stringify({ id: userId });
    const tabs = await clientsOnDistinctShards(connect, 2);
    for (const tab of tabs) {
      const socketId = await tab.socketId();
      tab.send({ event: 'pusher:signin', data: { user_data: userData, auth: userAuth(key, secret, socketId, userData) } });
      await tab.next('pusher:signin_success');
    }
    for (const index of new Set(await Promise.all(tabs.map(async (tab) => shardOf(await tab.socketId())))))
      await evictDurableObject(shard(index));
    for (const tab of tabs) await subscribe(tab, `#server-to-user-${userId}`);
    await publish({ channels: [`#server-to-user-${userId}`], name: 'notice', data: '"hi"' });
    for (const tab of tabs) expect((await tab.next('notice')).data).toBe('hi');
    const own = channel(`#server-to-user-${userId}`);
    expect(await own.stub.terminate(own.target)).toBe(tabs.length);
    for (const tab of tabs) expect((await tab.waitClosed()).code).toBe(4009);
  });
  it('signs a closed socket out again, from its alarm, when its user’s object failed the sign-out', async () => {
    const userId = `user-${crypto.randomUUID()}`;
    const [watcher, tab] = await clientsOnDistinctShards(connect, 2);
    const signIn = async (client: RawClient, userData: string) => {
      const socketId = await client.socketId();
      client.send({ event: 'pusher:signin', data: { user_data: userData, auth: userAuth(key, secret, socketId, userData) } });
      await client.next('pusher:signin_success');
    };
    await signIn(tab!, JSON.stringify({ id: userId }));
    await signIn(watcher!, JSON.stringify({ id: `watcher-${crypto.randomUUID()}`, watchlist: [userId] }));
    expect((await watcher!.next('pusher_internal:watchlist_events')).data).toEqual({ events: [{ name: 'online', user_ids: [userId] }] });
    const own = channel(`#server-to-user-${userId}`);
    let failedSignOut = false;
    await runInDurableObject(own.stub, (_instance, state) => {
      const sql = state.storage.sql;
      const exec = sql.exec.bind(sql);
      sql.exec = ((query: string, ...bindings: unknown[]) => {
        if (!query.startsWith('delete from signed_in')) return exec(query, ...bindings);
        sql.exec = exec;
        failedSignOut = true;
        throw new Error('user object reset');
      }) as typeof sql.exec;
    });
    const tabShard = await shardOf(await tab!.socketId());
    const warnings = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      tab!.close();
      await expect.poll(() => failedSignOut).toBe(true);
      // Without another try the user would stay online for good, to its watchers and sendToUser.
      expect(await runDurableObjectAlarm(shard(tabShard))).toBe(true);
    } finally {
      warnings.mockRestore();
    }
    expect((await watcher!.next('pusher_internal:watchlist_events')).data).toEqual({ events: [{ name: 'offline', user_ids: [userId] }] });
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
      // The objects' own log lines were captured (the spy sees the Durable Objects' console).
      const all = lines.join('\n');
      expect(all).toContain('subscription refused: invalid auth');
      expect(all).toContain('signin refused: invalid auth');
      expect(all).not.toContain(secret);
      expect(all).not.toContain(good.split(':')[1]);
      expect(all).not.toContain('ab'.repeat(32));
      expect(all).not.toContain(signin.split(':')[1]);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});

describe('a message whose handling throws', () => {
  it('answers the sender with a pusher:error 4200 and a log line, keeps its socket open, and keeps serving the others', async () => {
    const [sender, other] = await clientsOnDistinctShards(connect, 2);
    const index = await shardOf(await sender!.socketId());
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
    // The shard's storage fails once, as a disk or a bug could make any step of a handler fail.
    await runInDurableObject(shard(index), (_instance, state) => {
      const sql = state.storage.sql;
      const exec = sql.exec.bind(sql);
      sql.exec = ((query: string, ...bindings: unknown[]) => {
        if (!query.startsWith('insert or ignore into local_subscriptions')) return exec(query, ...bindings);
        sql.exec = exec;
        throw new Error('storage failed');
      }) as typeof sql.exec;
    });
    try {
      sender!.send({ event: 'pusher:subscribe', data: { channel: 'failing-channel' } });
      expect(await sender!.next('pusher:error')).toMatchObject({
        data: { code: 4200, message: 'The server could not handle this message; try again' },
      });
      expect(lines.join('\n')).toMatch(/message failed.*storage failed/);
    } finally {
      spy.mockRestore();
    }
    // The sender's connection goes on: it retries and is served, and so is everyone else.
    await subscribe(sender!, 'failing-channel');
    await subscribe(other!, 'failing-channel');
    await publish({ channels: ['failing-channel'], name: 'after', data: '{}' });
    expect((await sender!.next('after', 'failing-channel')).data).toEqual({});
    expect((await other!.next('after', 'failing-channel')).data).toEqual({});
  });
});
