import type Pusher from 'pusher-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultApp, nextEvent, onDistinctShards, pusherClient, serverSdk, subscribed } from '../support/node/realtime-clients.ts';
import { type RunningWorker, startWorker } from '../support/node/worker.ts';

// The official pusher-js (Node build) and pusher SDK against the realtime server in workerd
// (wrangler dev), changing nothing but host, port and TLS.
let worker: RunningWorker;
const clients: Pusher[] = [];

beforeAll(async () => {
  worker = await startWorker({ vars: { LOG_LEVEL: 'warn', REALTIME_SUBSCRIPTION_COUNT: 'true' } });
});
afterAll(() => worker?.stop());
afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

function client(identity?: { id: string; info?: Record<string, unknown> }): Pusher {
  const created = pusherClient(worker, identity ? { identity } : {});
  clients.push(created);
  return created;
}

const unique = <Prefix extends string>(prefix: Prefix): `${Prefix}${string}` => `${prefix}${Math.random().toString(36).slice(2, 10)}`;

// Negative checks ("X never arrived") are proven by ordering, not by waiting: each object handles one
// request or frame at a time, a channel object calls each shard through one stub (in order), and
// frames on one WebSocket arrive in the order the shard sent them. So once a marker sent after the
// action has arrived on a socket, anything that action sent to that socket has arrived before it.
// With several shards, the tests of cross-shard behaviour put their sockets on different shards.

/** Resolves once a client has received `event` on a channel (bind before causing it). */
function arrival(client: Pusher, channelName: string, event: string): Promise<void> {
  return nextEvent(client, channelName, event).then(() => undefined);
}

/** Subscriptions (sockets) on a channel as the server counts them. */
async function subscriptionCount(channel: string): Promise<number> {
  const response = await serverSdk(worker).get({ path: `/channels/${channel}`, params: { info: 'subscription_count' } });
  return ((await response.json()) as { subscription_count: number }).subscription_count;
}

/** Resolves when pusher-js has signed in and subscribed to the user's server-to-user channel. */
async function signedIn(c: Pusher): Promise<void> {
  await new Promise<void>((resolve) => {
    c.bind('pusher:signin_success', () => resolve());
    c.signin();
  });
  await expect.poll(() => c.user.serverToUserChannel?.subscribed).toBe(true);
}

describe('public and private channels', () => {
  it('delivers an SDK trigger to a pusher-js subscriber of a public channel', async () => {
    const channel = unique('news-');
    const reader = client();
    await subscribed(reader, channel);
    const received = nextEvent(reader, channel, 'headline');
    const response = await serverSdk(worker).trigger(channel, 'headline', { title: 'Hello' });
    expect(response.status).toBe(200);
    expect(await received).toEqual({ title: 'Hello' });
  });

  it('authorizes a private channel signed by the SDK and refuses a forged signature with 401', async () => {
    const channel = unique('private-user.');
    const reader = client();
    await subscribed(reader, channel);
    const received = nextEvent(reader, channel, 'email.received');
    await serverSdk(worker).trigger(channel, 'email.received', { id: 'e1' });
    expect(await received).toEqual({ id: 'e1' });

    const forger = pusherClient(worker, { forgeChannelAuth: true });
    clients.push(forger);
    await expect(subscribed(forger, channel)).rejects.toMatchObject({ detail: { type: 'AuthError', status: 401 } });
    const info = await serverSdk(worker).get({ path: `/channels/${channel}`, params: { info: 'subscription_count' } });
    expect(await info.json()).toEqual({ occupied: true, subscription_count: 1 });
  });

  it('delivers end-to-end encrypted events on private-encrypted- channels', async () => {
    const channel = unique('private-encrypted-secrets-');
    const reader = client();
    await subscribed(reader, channel);
    const received = nextEvent(reader, channel, 'secret');
    await serverSdk(worker).trigger(channel, 'secret', { code: 42 });
    expect(await received).toEqual({ code: 42 });
  });

  it('keeps pusher-js channel.subscriptionCount up to date when subscription counting is on', async () => {
    const channel = unique('counted-');
    const watcher = client();
    await subscribed(watcher, channel);
    await expect.poll(() => watcher.channel(channel).subscriptionCount).toBe(1);
    const counts: number[] = [];
    watcher
      .channel(channel)
      .bind('pusher:subscription_count', (data: { subscription_count: number }) => counts.push(data.subscription_count));
    const other = client();
    await subscribed(other, channel);
    await expect.poll(() => watcher.channel(channel).subscriptionCount).toBe(2);
    other.unsubscribe(channel);
    await expect.poll(() => counts).toEqual([2, 1]);
  });

  it('excludes the socket_id given to trigger', async () => {
    const channel = unique('room-');
    const [sender, other] = await onDistinctShards([client, client]);
    await subscribed(sender, channel);
    await subscribed(other, channel);
    let senderGot = false;
    sender.channel(channel).bind('said', () => (senderGot = true));
    const received = nextEvent(other, channel, 'said');
    await serverSdk(worker).trigger(channel, 'said', { text: 'hi' }, { socket_id: sender.connection.socket_id });
    expect(await received).toEqual({ text: 'hi' });
    // A marker to everyone, published after: had the sender been sent 'said', it would have come first.
    const marker = arrival(sender, channel, 'marker');
    await serverSdk(worker).trigger(channel, 'marker', {});
    await marker;
    expect(senderGot).toBe(false);
  });
});

describe('presence channels', () => {
  it('counts members per user across two sockets of one user', async () => {
    const channel = unique('presence-inbox-');
    // Three sockets on three shards (with several): member events and ids once per user app-wide.
    const ada = () => client({ id: 'ada', info: { name: 'Ada', role: 'user' } });
    const [watcher, tab1, tab2] = await onDistinctShards([() => client({ id: 'watcher', info: { name: 'Watcher' } }), ada, ada]);
    await subscribed(watcher, channel);
    const added: string[] = [];
    const removed: string[] = [];
    watcher.channel(channel).bind('pusher:member_added', (member: { id: string }) => added.push(member.id));
    watcher.channel(channel).bind('pusher:member_removed', (member: { id: string }) => removed.push(member.id));

    const first = await subscribed(tab1, channel);
    expect(first.count).toBe(2);
    const second = await subscribed(tab2, channel);
    expect(second.count).toBe(2);
    expect(Object.keys(second.members).sort()).toEqual(['ada', 'watcher']);
    expect(second.members.ada).toEqual({ name: 'Ada', role: 'user' });

    const users = await serverSdk(worker).get({ path: `/channels/${channel}/users` });
    expect(await users.json()).toEqual({ users: [{ id: 'watcher' }, { id: 'ada' }] });
    const info = await serverSdk(worker).get({ path: `/channels/${channel}`, params: { info: 'user_count,subscription_count' } });
    expect(await info.json()).toEqual({ occupied: true, user_count: 2, subscription_count: 3 });

    tab1.disconnect();
    // The server has handled tab1's close (and sent any member event) once it counts two sockets.
    await expect.poll(() => subscriptionCount(channel), { timeout: 5000 }).toBe(2);
    const marker = arrival(watcher, channel, 'marker');
    await serverSdk(worker).trigger(channel, 'marker', {});
    await marker;
    expect(removed).toEqual([]);
    tab2.disconnect();
    await expect.poll(() => removed, { timeout: 5000 }).toEqual(['ada']);
    expect(added).toEqual(['ada']);

    const list = await serverSdk(worker).get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } });
    expect((await list.json()).channels[channel]).toEqual({ user_count: 1 });
  });
});

describe('client events', () => {
  it('reach other members only, never the sender, with user_id on presence channels', async () => {
    const channel = unique('presence-chat-');
    const [alice, bob] = await onDistinctShards([() => client({ id: 'alice' }), () => client({ id: 'bob' })]);
    await subscribed(alice, channel);
    await subscribed(bob, channel);
    let echoed = false;
    alice.channel(channel).bind('client-typing', () => (echoed = true));
    const received = nextEvent(bob, channel, 'client-typing');
    expect(alice.channel(channel).trigger('client-typing', { typing: true })).toBe(true);
    expect(await received).toEqual({ data: { typing: true }, metadata: { user_id: 'alice' } });
    // Bob answers only after the server fanned alice's event out, so an echo to alice would precede it.
    const answer = arrival(alice, channel, 'client-seen');
    expect(bob.channel(channel).trigger('client-seen', {})).toBe(true);
    await answer;
    expect(echoed).toBe(false);
  });
});

describe('user authentication', () => {
  it('signs a user in and delivers sendToUser to every socket of that user', async () => {
    const user7 = () => client({ id: 'user-7' });
    const [laptop, phone, stranger] = await onDistinctShards([user7, user7, () => client({ id: 'user-8' })]);
    await Promise.all([signedIn(laptop), signedIn(phone), signedIn(stranger)]);
    const got = (c: Pusher) => new Promise((resolve) => c.user.bind('notice', resolve));
    const onLaptop = got(laptop);
    const onPhone = got(phone);
    let strangerGot = false;
    stranger.user.bind('notice', () => (strangerGot = true));
    await serverSdk(worker).sendToUser('user-7', 'notice', { text: 'for you' });
    expect(await onLaptop).toEqual({ text: 'for you' });
    expect(await onPhone).toEqual({ text: 'for you' });
    // A marker to the stranger, sent after: had the notice reached the stranger, it would have come first.
    const marker = new Promise((resolve) => stranger.user.bind('marker', resolve));
    await serverSdk(worker).sendToUser('user-8', 'marker', {});
    await marker;
    expect(strangerGot).toBe(false);
  });

  it('terminates every connection of a user', async () => {
    const target = client({ id: 'user-9' });
    const bystander = client({ id: 'user-10' });
    await Promise.all([signedIn(target), signedIn(bystander)]);
    const bystanderSocket = bystander.connection.socket_id;
    const dropped = new Promise<never>((_resolve, reject) => {
      bystander.connection.bind('state_change', (states: { current: string }) => reject(new Error(`the bystander went ${states.current}`)));
    });
    await serverSdk(worker).terminateUserConnections('user-9');
    await expect.poll(() => target.connection.state, { timeout: 5000 }).not.toBe('connected');
    // The bystander's socket still gets an event sent after the termination (a close would have come first).
    const marker = new Promise((resolve) => bystander.user.bind('marker', resolve));
    await serverSdk(worker).sendToUser('user-10', 'marker', {});
    await Promise.race([marker, dropped]);
    expect(bystander.connection.socket_id).toBe(bystanderSocket);
    expect(bystander.connection.state).toBe('connected');
  });
});

describe('watchlist events', () => {
  it('tells a watcher when a watched user comes online (first socket) and goes offline (last socket)', async () => {
    const watched = unique('watched-');
    const watcher = client({ id: unique('watcher-'), info: { watchlist: [watched] } });
    const events: Array<{ name: string; user_ids: string[] }> = [];
    watcher.user.watchlist.bind('online', (event: { name: string; user_ids: string[] }) => events.push(event));
    watcher.user.watchlist.bind('offline', (event: { name: string; user_ids: string[] }) => events.push(event));
    await signedIn(watcher);
    await expect.poll(() => events).toEqual([{ name: 'offline', user_ids: [watched] }]);

    const tab1 = client({ id: watched });
    const tab2 = client({ id: watched });
    await signedIn(tab1);
    await signedIn(tab2);
    await expect.poll(() => events.length).toBe(2);
    // All three share a channel, so the server's socket count there shows when it has handled tab1's close.
    const room = unique('watch-room-');
    await Promise.all([subscribed(watcher, room), subscribed(tab1, room), subscribed(tab2, room)]);
    tab1.disconnect();
    await expect.poll(() => subscriptionCount(room), { timeout: 5000 }).toBe(2);
    const marker = arrival(watcher, room, 'marker');
    await serverSdk(worker).trigger(room, 'marker', {});
    await marker;
    expect(events).toHaveLength(2);
    tab2.disconnect();
    await expect
      .poll(() => events)
      .toEqual([
        { name: 'offline', user_ids: [watched] },
        { name: 'online', user_ids: [watched] },
        { name: 'offline', user_ids: [watched] },
      ]);
  });
});

describe('cache channels', () => {
  it('replays the last event to a new subscriber, and sends pusher:cache_miss when there is none', async () => {
    const channel = unique('cache-prices-');
    const early = client();
    const miss = new Promise((resolve) => early.subscribe(channel).bind('pusher:cache_miss', resolve));
    await miss;
    await serverSdk(worker).trigger(channel, 'price', { eur: 10 });
    await serverSdk(worker).trigger(channel, 'price', { eur: 11 });
    const late = client();
    const replay = nextEvent(late, channel, 'price');
    expect(await replay).toEqual({ eur: 11 });
    const info = await serverSdk(worker).get({ path: `/channels/${channel}`, params: { info: 'cache' } });
    expect(await info.json()).toMatchObject({ occupied: true, cache: { event: 'price', data: '{"eur":11}' } });
  });
});

describe('HTTP API errors and limits through the SDK', () => {
  it('refuses data over 10 KB with 413, more than 10 batch events with 400, and a wrong secret with 401', async () => {
    await expect(serverSdk(worker).trigger('news', 'big', 'x'.repeat(10 * 1024 + 10))).rejects.toMatchObject({ status: 413 });
    const batch = Array.from({ length: 11 }, () => ({ channel: 'news', name: 'x', data: '{}' }));
    await expect(serverSdk(worker).triggerBatch(batch)).rejects.toMatchObject({ status: 400 });
    const wrong = serverSdk(worker, { ...defaultApp(), secret: 'not-the-secret' });
    await expect(wrong.trigger('news', 'x', {})).rejects.toMatchObject({ status: 401 });
  });

  it('reports subscription_count in trigger info', async () => {
    const channel = unique('counted-');
    await subscribed(client(), channel);
    const response = await serverSdk(worker).trigger(channel, 'x', {}, { info: 'subscription_count' });
    expect(await response.json()).toEqual({ channels: { [channel]: { subscription_count: 1 } } });
  });
});
