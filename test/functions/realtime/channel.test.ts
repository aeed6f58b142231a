import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { serverToUserChannel } from '../../../functions/broadcast/pusher-rules.ts';
import type { JoinResult, RealtimeChannel } from '../../../functions/realtime/channel.ts';
import { channelAuth, userAuth } from '../../../functions/realtime/signatures.ts';
import {
  channel,
  clientsOnDistinctShards,
  nothingStored,
  publish,
  realtimeApp,
  shardCount,
  storedData,
  subscribe,
} from '../../support/workerd/realtime.ts';
import { RawClient } from '../../support/workerd/realtime-client.ts';

const open: RawClient[] = [];
/** The hooks app has client events on (see vitest.config.ts). */
const hooks = { key: 'hooks-key', secret: 'hooks-secret-for-tests' };

async function connect(key = env.PUSHER_APP_KEY): Promise<RawClient> {
  const client = await RawClient.connect(key);
  open.push(client);
  return client;
}

afterEach(() => {
  for (const client of open.splice(0)) client.close();
});

describe(`channel objects across ${shardCount} shard(s)`, () => {
  it('lists each presence member once and sends member events once per user, not per tab', async () => {
    const name = `presence-team-${crypto.randomUUID()}`;
    const [watcher, adaTab1, adaTab2] = await clientsOnDistinctShards(() => connect(), 3);
    await subscribe(watcher!, name, { channelData: JSON.stringify({ user_id: 'watcher' }) });
    const ada = JSON.stringify({ user_id: 'ada', user_info: { name: 'Ada' } });
    await subscribe(adaTab1!, name, { channelData: ada });
    expect((await watcher!.next('pusher_internal:member_added', name)).data).toEqual({ user_id: 'ada', user_info: { name: 'Ada' } });
    const socketId = await adaTab2!.socketId();
    adaTab2!.send({
      event: 'pusher:subscribe',
      data: { channel: name, auth: channelAuth(env.PUSHER_APP_KEY, env.PUSHER_APP_SECRET, socketId, name, ada), channel_data: ada },
    });
    const succeeded = await adaTab2!.next('pusher_internal:subscription_succeeded', name);
    expect(succeeded.data).toEqual({ presence: { ids: ['watcher', 'ada'], hash: { watcher: null, ada: { name: 'Ada' } }, count: 2 } });

    // The second tab leaving removes no one; the last one does, once.
    adaTab2!.close();
    adaTab1!.close();
    expect((await watcher!.next('pusher_internal:member_removed', name)).data).toEqual({ user_id: 'ada' });
    await publish({ channels: [name], name: 'marker', data: '{}' });
    expect(await watcher!.noneBefore('pusher_internal:member_added', 'marker', name)).toBe(true);
    expect(await watcher!.noneBefore('pusher_internal:member_removed', 'marker', name)).toBe(true);
  });

  it('leaves out the publisher’s socket (socket_id) on every shard, and only it', async () => {
    const name = `private-others-${crypto.randomUUID()}`;
    const [sender, other] = await clientsOnDistinctShards(() => connect(), 2);
    await subscribe(sender!, name);
    await subscribe(other!, name);
    await publish({ channels: [name], name: 'said', data: '{}', socketId: await sender!.socketId() });
    await other!.next('said', name);
    await publish({ channels: [name], name: 'marker', data: '{}' });
    expect(await sender!.noneBefore('said', 'marker', name)).toBe(true);
  });

  it('carries client events between sockets on different shards, with user_id on presence channels', async () => {
    const name = `presence-chat-${crypto.randomUUID()}`;
    const [one, two] = await clientsOnDistinctShards(() => connect(hooks.key), 2, 'hooks');
    await subscribe(one!, name, { app: hooks, channelData: JSON.stringify({ user_id: 'one' }) });
    await subscribe(two!, name, { app: hooks, channelData: JSON.stringify({ user_id: 'two' }) });
    one!.send({ event: 'client-typing', channel: name, data: { typing: true } });
    expect(await two!.next('client-typing', name)).toMatchObject({ data: { typing: true }, user_id: 'one' });
    await publish({ channels: [name], name: 'marker', data: '{}' }, 'hooks');
    expect(await one!.noneBefore('client-typing', 'marker', name)).toBe(true);
  });

  it('replays a cache channel’s last event to a socket that subscribes later, on any shard', async () => {
    const name = `cache-scores-${crypto.randomUUID()}`;
    const early = await connect();
    await subscribe(early, name);
    expect((await early.next('pusher:cache_miss', name)).channel).toBe(name);
    await publish({ channels: [name], name: 'score', data: '{"home":2}' });
    const late = await connect();
    await subscribe(late, name);
    expect((await late.next('score', name)).data).toEqual({ home: 2 });
    const info = await channel(name).stub.info(channel(name).target, ['cache', 'subscription_count']);
    expect(info).toMatchObject({ occupied: true, subscription_count: 2, cache: { event: 'score', data: '{"home":2}' } });
  });

  it('refuses the 101st member of a presence channel and admits another tab of a member', async () => {
    const name = `presence-full-${crypto.randomUUID()}`;
    const members = await Promise.all(Array.from({ length: 100 }, () => connect()));
    await Promise.all(members.map((client, i) => subscribe(client, name, { channelData: JSON.stringify({ user_id: `member-${i}` }) })));
    const extra = await connect();
    const socketId = await extra.socketId();
    const data = JSON.stringify({ user_id: 'member-101' });
    extra.send({
      event: 'pusher:subscribe',
      data: { channel: name, auth: channelAuth(env.PUSHER_APP_KEY, env.PUSHER_APP_SECRET, socketId, name, data), channel_data: data },
    });
    expect((await extra.next('pusher:subscription_error', name)).data).toMatchObject({
      status: 403,
      error: `Presence channel '${name}' is full (at most 100 members)`,
    });
    await subscribe(extra, name, { channelData: JSON.stringify({ user_id: 'member-7' }) });
    expect((await channel(name).stub.info(channel(name).target, ['user_count'])).user_count).toBe(100);
  });
});

describe(`channel objects keep no storage once nothing is worth keeping (${shardCount} shard(s))`, () => {
  /**
   * Runs the object's alarm now if it is set (the cleanup, without waiting out the leave delay),
   * then reads what the object stores. Only for apps without webhooks: an alarm run beside the
   * runtime's own could send a webhook twice.
   */
  async function afterItsAlarm(stub: DurableObjectStub) {
    await runDurableObjectAlarm(stub);
    return storedData(stub);
  }

  it('deletes the storage once the last subscriber has left, and the same object serves the next subscribe', async () => {
    const name = `my-channel-${crypto.randomUUID()}`;
    const { stub, target } = channel(name);
    const nothing = await nothingStored();
    const [one, two] = await clientsOnDistinctShards(() => connect(), 2);
    await subscribe(one!, name);
    await subscribe(two!, name);
    const instance = await runInDurableObject(stub, async (object: RealtimeChannel) => {
      // An alarm while anyone is subscribed (a webhook's, a retry) deletes nothing.
      await object.alarm();
      return object;
    });
    expect((await storedData(stub)).tables).toContain('subscribers');

    const leftAt = Date.now();
    one!.close();
    two!.close();
    // The cleanup waits the leave delay, so a page reload finds the object as it was.
    const leaveDelayMs = realtimeApp().webhookLeaveDelay * 1000;
    await expect.poll(async () => (await storedData(stub)).alarm).toBeGreaterThanOrEqual(leftAt + leaveDelayMs);
    await expect.poll(() => afterItsAlarm(stub)).toEqual(nothing);

    expect(await runInDurableObject(stub, (object) => object)).toBe(instance);
    const three = await connect();
    await subscribe(three, name);
    await publish({ channels: [name], name: 'after-cleanup', data: '{"n":1}' });
    expect((await three.next('after-cleanup', name)).data).toEqual({ n: 1 });
    expect(await stub.info(target, ['subscription_count'])).toEqual({ occupied: true, subscription_count: 1 });
  });

  it('stores nothing for a publish to a channel nobody is in, nor for questions about it', async () => {
    const name = `private-user.${crypto.randomUUID()}`;
    const { stub, target } = channel(name);
    await publish({ channels: [name], name: 'email.received', data: '{}' });
    await stub.remember(target, null, ['subscription_count']);
    expect(await stub.info(target, ['subscription_count', 'cache'])).toEqual({ occupied: false, subscription_count: 0 });
    expect(await storedData(stub)).toEqual(await nothingStored());
  });

  it('keeps a cache channel’s last event for its 30 minutes, then deletes the storage', async () => {
    const name = `cache-scores-${crypto.randomUUID()}`;
    const { stub, target } = channel(name);
    // Nobody is subscribed: the event is kept all the same, and the alarm waits for it to expire.
    await publish({ channels: [name], name: 'score', data: '{"home":1}' });
    const { cache } = await stub.info(target, ['cache']);
    expect(cache).toMatchObject({ event: 'score', data: '{"home":1}' });
    const { alarm } = await storedData(stub);
    expect(alarm).toBeGreaterThan(Date.now() + 29 * 60 * 1000);

    // An alarm that runs early (a retry) keeps the event and sets itself again.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await storedData(stub)).alarm).toBe(alarm);
    const late = await connect();
    await subscribe(late, name);
    expect((await late.next('score', name)).data).toEqual({ home: 1 });
    late.close();
    await expect.poll(async () => (await stub.info(target, [])).occupied).toBe(false);

    // Once the TTL has passed, the alarm deletes everything.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(alarm!);
      expect(await runDurableObjectAlarm(stub)).toBe(true);
    } finally {
      vi.useRealTimers();
    }
    expect(await storedData(stub)).toEqual(await nothingStored());
  });

  it('deletes a presence channel everyone left, and a new member then sees only itself', async () => {
    const name = `presence-room-${crypto.randomUUID()}`;
    const { stub, target } = channel(name);
    const [ada, grace] = await clientsOnDistinctShards(() => connect(), 2);
    await subscribe(ada!, name, { channelData: JSON.stringify({ user_id: 'ada', user_info: { name: 'Ada' } }) });
    await subscribe(grace!, name, { channelData: JSON.stringify({ user_id: 'grace' }) });
    ada!.close();
    grace!.close();
    await expect.poll(() => afterItsAlarm(stub)).toEqual(await nothingStored());

    const [linus, watcher] = await clientsOnDistinctShards(() => connect(), 2);
    const succeeded = await subscribe(linus!, name, { channelData: JSON.stringify({ user_id: 'linus' }) });
    expect(succeeded.data).toEqual({ presence: { ids: ['linus'], hash: { linus: null }, count: 1 } });
    await subscribe(watcher!, name, { channelData: JSON.stringify({ user_id: 'watcher' }) });
    expect((await linus!.next('pusher_internal:member_added', name)).data).toEqual({ user_id: 'watcher', user_info: null });
    expect(await stub.info(target, ['user_count'])).toEqual({ occupied: true, user_count: 2 });
    expect(await stub.users(target)).toEqual([{ id: 'linus' }, { id: 'watcher' }]);
  });

  it('deletes a user’s storage and its watched users’ once the user’s last socket is gone', async () => {
    const userId = `user-${crypto.randomUUID()}`;
    const watched = `watched-${crypto.randomUUID()}`;
    const own = channel(serverToUserChannel(userId)).stub;
    const theirs = channel(serverToUserChannel(watched)).stub;
    const tab = await connect();
    const userData = JSON.stringify({ id: userId, watchlist: [watched] });
    tab.send({
      event: 'pusher:signin',
      data: { user_data: userData, auth: userAuth(env.PUSHER_APP_KEY, env.PUSHER_APP_SECRET, await tab.socketId(), userData) },
    });
    await tab.next('pusher:signin_success');
    // An alarm while the user is signed in or watched deletes nothing.
    for (const stub of [own, theirs]) await runInDurableObject(stub, (object: RealtimeChannel) => object.alarm());
    expect((await storedData(own)).tables).toContain('signed_in');
    expect((await storedData(theirs)).tables).toContain('watchers');

    tab.close();
    const nothing = await nothingStored();
    await expect.poll(() => afterItsAlarm(own)).toEqual(nothing);
    await expect.poll(() => afterItsAlarm(theirs)).toEqual(nothing);
  });

  it('keeps a subscription that arrives while the storage is being deleted', async () => {
    const { stub, target } = channel(`my-channel-${crypto.randomUUID()}`);
    const joined = await runInDurableObject(stub, async (object: RealtimeChannel, state) => {
      await object.join(target, { socketId: '1.1', shard: 0, member: null });
      await object.leave(target, '1.1');
      // The join comes in right after deleteAll() has emptied the database, while it commits.
      const storage: DurableObjectStorage = Object.getPrototypeOf(state.storage);
      const deleteAll = storage.deleteAll;
      let joining: Promise<JoinResult> | undefined;
      const spy = vi.spyOn(storage, 'deleteAll').mockImplementation(function (this: DurableObjectStorage, options) {
        const deleted = deleteAll.call(this, options);
        joining = object.join(target, { socketId: '2.2', shard: 0, member: null });
        return deleted;
      });
      try {
        await object.alarm();
        expect(spy).toHaveBeenCalledOnce();
      } finally {
        spy.mockRestore();
      }
      return joining;
    });
    expect(joined).toEqual({ joined: true });
    expect(await stub.info(target, ['subscription_count'])).toEqual({ occupied: true, subscription_count: 1 });
    expect((await storedData(stub)).tables).toEqual(expect.arrayContaining(['subscribers', 'target', 'webhook_events']));
  });

  it('finishes a cleanup after an eviction, and doing it again is harmless', async () => {
    const name = `private-evicted-${crypto.randomUUID()}`;
    const { stub } = channel(name);
    const client = await connect();
    await subscribe(client, name);
    client.close();
    await expect.poll(async () => (await storedData(stub)).alarm).not.toBeNull();
    await evictDurableObject(stub);
    // A new instance finds the tables and the alarm in storage, and cleans up.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const nothing = await nothingStored();
    expect(await storedData(stub)).toEqual(nothing);
    // A retried alarm finds nothing to do and leaves nothing behind.
    await runInDurableObject(stub, (object: RealtimeChannel) => object.alarm());
    expect(await storedData(stub)).toEqual(nothing);
  });
});
