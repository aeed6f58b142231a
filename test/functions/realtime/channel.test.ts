import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { channelAuth } from '../../../functions/realtime/signatures.ts';
import { channel, clientsOnDistinctShards, publish, shardCount, subscribe } from '../../support/workerd/realtime.ts';
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
