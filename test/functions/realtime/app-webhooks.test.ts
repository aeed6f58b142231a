import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../functions/log.ts';
import { MAX_EVENTS_PER_WEBHOOK, retryDelayMs, WebhookQueue, webhookBodies } from '../../../functions/realtime/app-webhooks.ts';
import type { RealtimeChannel } from '../../../functions/realtime/channel.ts';
import { channelAuth, webhookSignature } from '../../../functions/realtime/signatures.ts';
import { channel as channelOf, clientsOnDistinctShards, nothingStored, realtimeApp, storedData } from '../../support/workerd/realtime.ts';
import { RawClient } from '../../support/workerd/realtime-client.ts';

const hooks = { key: 'hooks-key', secret: 'hooks-secret-for-tests' };

/** A request as the Node-side receiver (support/node/webhook-receiver.ts) lists it at GET /__received. */
type ReceivedWebhook = { path: string; headers: Record<string, string | undefined>; body: string; status: number };

type WebhookEvent = { name: string; channel: string; user_id?: string; event?: string; data?: string; socket_id?: string };

async function received(path: string): Promise<ReceivedWebhook[]> {
  const response = await fetch(`http://127.0.0.1:${env.WEBHOOK_RECEIVER_PORT}/__received`);
  return ((await response.json()) as ReceivedWebhook[]).filter((hook) => hook.path === path);
}

/** Every event the receiver accepted (2xx) for a channel, in order. */
async function eventsFor(channel: string, path = '/hooks'): Promise<WebhookEvent[]> {
  return (await received(path))
    .filter((hook) => hook.status < 300)
    .flatMap((hook) => (JSON.parse(hook.body) as { events: WebhookEvent[] }).events)
    .filter((event) => event.channel === channel);
}

/** Polls until the value matches: webhooks reach the receiver after the object's alarm, later than the action. */
function eventually<T>(read: () => Promise<T>, timeout = 10_000) {
  return expect.poll(read, { timeout, interval: 100 });
}

async function join(client: RawClient, app: { key: string; secret: string }, channel: string, channelData?: string) {
  const socketId = await client.socketId();
  const needsAuth = channel.startsWith('private-') || channel.startsWith('presence-');
  client.send({
    event: 'pusher:subscribe',
    data: {
      channel,
      ...(needsAuth ? { auth: channelAuth(app.key, app.secret, socketId, channel, channelData) } : {}),
      ...(channelData ? { channel_data: channelData } : {}),
    },
  });
  await client.next('pusher_internal:subscription_succeeded', channel);
}

/**
 * Proves by ordering that no leave webhook (channel_vacated, member_removed) of a presence channel
 * queued so far is still to come: a marker user joins and leaves the same channel and this waits for
 * its member_removed. The channel's object queued it later with the same delay, so it is due no
 * earlier than any leave event queued before it; the object sends due events oldest first, one body
 * per alarm, and finishes an alarm's deliveries before the next, so those arrived no later.
 */
async function afterPendingLeaves(channel: string): Promise<void> {
  const marker = await RawClient.connect(hooks.key);
  const userId = `marker-${crypto.randomUUID()}`;
  await join(marker, hooks, channel, JSON.stringify({ user_id: userId }));
  marker.send({ event: 'pusher:unsubscribe', data: { channel } });
  await eventually(() => eventsFor(channel)).toContainEqual({ name: 'member_removed', channel, user_id: userId });
  marker.close();
}

/** The channel's events other than the marker users' (see {@link afterPendingLeaves}). */
async function eventsBesideMarkers(channel: string): Promise<WebhookEvent[]> {
  return (await eventsFor(channel)).filter((event) => !event.user_id?.startsWith('marker-'));
}

/** Subscriptions (sockets) on a channel of the hooks app, as its object counts them. */
async function subscriptionCount(channel: string): Promise<number | undefined> {
  const { stub, target } = channelOf(channel, 'hooks');
  return (await stub.info(target, ['subscription_count'])).subscription_count;
}

describe('webhooks', () => {
  it('signs each body with X-Pusher-Key and X-Pusher-Signature = HMAC(secret, body)', async () => {
    const channel = `signed-${crypto.randomUUID()}`;
    const before = Date.now();
    const client = await RawClient.connect(hooks.key);
    await join(client, hooks, channel);
    await eventually(() => eventsFor(channel)).toEqual([{ name: 'channel_occupied', channel }]);
    const hook = (await received('/hooks')).find((h) => h.body.includes(channel))!;
    expect(hook.headers['x-pusher-key']).toBe(hooks.key);
    expect(hook.headers['x-pusher-signature']).toBe(webhookSignature(hooks.secret, hook.body));
    // The time the body was made, inside the signed body, so a receiver can refuse an old one (a replay).
    const { time_ms } = JSON.parse(hook.body) as { time_ms: number };
    expect(time_ms).toBeGreaterThanOrEqual(before);
    expect(time_ms).toBeLessThanOrEqual(Date.now());
    client.close();
  });

  it('sends channel_vacated after the delay, and a quick rejoin cancels it instead of flapping', async () => {
    const channel = `presence-flap-${crypto.randomUUID()}`;
    const data = JSON.stringify({ user_id: 'u1' });
    const first = await RawClient.connect(hooks.key);
    await join(first, hooks, channel, data);
    first.send({ event: 'pusher:unsubscribe', data: { channel } });
    await join(first, hooks, channel, data); // back within the 1 s delay
    await afterPendingLeaves(channel);
    expect(await eventsBesideMarkers(channel)).toEqual([
      { name: 'channel_occupied', channel },
      { name: 'member_added', channel, user_id: 'u1' },
    ]);

    first.close();
    await eventually(() => eventsBesideMarkers(channel)).toEqual([
      { name: 'channel_occupied', channel },
      { name: 'member_added', channel, user_id: 'u1' },
      { name: 'member_removed', channel, user_id: 'u1' },
      { name: 'channel_vacated', channel },
    ]);
  });

  it("sends member_added on a user's first socket and member_removed after its last, once, whatever their shards", async () => {
    const channel = `presence-hooks-${crypto.randomUUID()}`;
    const data = JSON.stringify({ user_id: 'u1' });
    const [tab1, tab2] = await clientsOnDistinctShards(() => RawClient.connect(hooks.key), 2, 'hooks');
    await join(tab1!, hooks, channel, data);
    await join(tab2!, hooks, channel, data);
    tab1!.close();
    // The object has handled tab1's close (and queued any member_removed) once it counts one socket.
    await eventually(() => subscriptionCount(channel)).toBe(1);
    await afterPendingLeaves(channel);
    expect(await eventsBesideMarkers(channel)).toEqual([
      { name: 'channel_occupied', channel },
      { name: 'member_added', channel, user_id: 'u1' },
    ]);
    tab2!.close();
    await eventually(() => eventsBesideMarkers(channel)).toEqual([
      { name: 'channel_occupied', channel },
      { name: 'member_added', channel, user_id: 'u1' },
      { name: 'member_removed', channel, user_id: 'u1' },
      { name: 'channel_vacated', channel },
    ]);
  });

  it('sends the leave events once, after the leave delay, then deletes the channel object’s storage', async () => {
    const channel = `presence-last-${crypto.randomUUID()}`;
    const { stub } = channelOf(channel, 'hooks');
    const client = await RawClient.connect(hooks.key);
    await join(client, hooks, channel, JSON.stringify({ user_id: 'u1' }));
    client.close();
    // The object keeps the pending events through the delay, sends them, and only then cleans up.
    await eventually(() => storedData(stub)).toEqual(await nothingStored());
    expect(await eventsFor(channel)).toEqual([
      { name: 'channel_occupied', channel },
      { name: 'member_added', channel, user_id: 'u1' },
      { name: 'member_removed', channel, user_id: 'u1' },
      { name: 'channel_vacated', channel },
    ]);

    // The channel starts again from nothing: occupied again, once.
    const again = await RawClient.connect(hooks.key);
    await join(again, hooks, channel, JSON.stringify({ user_id: 'u2' }));
    await eventually(async () => (await eventsFor(channel)).slice(4)).toEqual([
      { name: 'channel_occupied', channel },
      { name: 'member_added', channel, user_id: 'u2' },
    ]);
    again.close();
    await eventually(() => storedData(stub)).toEqual(await nothingStored());
    expect((await eventsFor(channel)).slice(4).map((event) => event.name)).toEqual([
      'channel_occupied',
      'member_added',
      'member_removed',
      'channel_vacated',
    ]);
  });

  it('keeps a channel object while its leave events wait out their delay, however early its alarm runs', async () => {
    const channel = `presence-pending-${crypto.randomUUID()}`;
    const { stub, target } = channelOf(channel, 'hooks');
    const alarm = () => runInDurableObject(stub, (object: RealtimeChannel) => object.alarm());
    // The object's clock runs an hour ahead, so the runtime's own alarm stays out of the way and
    // this test decides when each alarm runs.
    const start = Date.now() + 60 * 60 * 1000;
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(start);
      await runInDurableObject(stub, async (object: RealtimeChannel) => {
        await object.join(target, { socketId: '1.1', shard: 0, member: { userId: 'u1', userInfo: null } });
        await object.leave(target, '1.1');
      });
      await alarm();
      expect((await storedData(stub)).tables).toContain('webhook_events');
      expect((await eventsFor(channel)).map((event) => event.name)).toEqual(['channel_occupied', 'member_added']);
      vi.setSystemTime(start + realtimeApp('hooks').webhookLeaveDelay * 1000);
      await alarm();
    } finally {
      vi.useRealTimers();
    }
    expect(await storedData(stub)).toEqual(await nothingStored());
    expect(await eventsFor(channel)).toEqual([
      { name: 'channel_occupied', channel },
      { name: 'member_added', channel, user_id: 'u1' },
      { name: 'member_removed', channel, user_id: 'u1' },
      { name: 'channel_vacated', channel },
    ]);
  });

  it('reports client events with socket_id, and cache misses', async () => {
    const channel = `private-chat-${crypto.randomUUID()}`;
    const sender = await RawClient.connect(hooks.key);
    await join(sender, hooks, channel);
    sender.send({ event: 'client-typing', channel, data: { who: 'me' } });
    const socketId = await sender.socketId();
    await eventually(async () => (await eventsFor(channel)).find((e) => e.name === 'client_event')).toEqual({
      name: 'client_event',
      channel,
      event: 'client-typing',
      data: '{"who":"me"}',
      socket_id: socketId,
    });

    const cacheChannel = `cache-${crypto.randomUUID()}`;
    await join(sender, hooks, cacheChannel);
    await sender.next('pusher:cache_miss', cacheChannel);
    await eventually(async () => (await eventsFor(cacheChannel)).map((e) => e.name)).toContain('cache_miss');
    sender.close();
  });

  it('retries a webhook answered 500 with back-off until it is accepted', { timeout: 20_000 }, async () => {
    const channel = `retry-${crypto.randomUUID()}`;
    const client = await RawClient.connect('flaky-hooks-key');
    await join(client, { key: 'flaky-hooks-key', secret: 'flaky-hooks-secret-for-tests' }, channel);
    await eventually(async () => (await received('/flaky/hooks')).map((hook) => hook.status), 15_000).toEqual([500, 500, 200]);
    const attempts = await received('/flaky/hooks');
    // The same signed body each time.
    expect(new Set(attempts.map((hook) => hook.body)).size).toBe(1);
    expect(JSON.parse(attempts[2]!.body).events).toEqual([{ name: 'channel_occupied', channel }]);
    client.close();
  });

  it('reports subscription counts to subscribers and the webhook when the app counts them', async () => {
    const app = { key: 'counted-hooks-key', secret: 'counted-hooks-secret-for-tests' };
    const channel = `counted-${crypto.randomUUID()}`;
    const first = await RawClient.connect(app.key);
    const second = await RawClient.connect(app.key);
    await join(first, app, channel);
    expect((await first.next('pusher_internal:subscription_count', channel)).data).toEqual({ subscription_count: 1 });
    await join(second, app, channel);
    expect((await first.next('pusher_internal:subscription_count', channel)).data).toEqual({ subscription_count: 2 });
    second.send({ event: 'pusher:unsubscribe', data: { channel } });
    expect((await first.next('pusher_internal:subscription_count', channel)).data).toEqual({ subscription_count: 1 });
    await eventually(async () =>
      (await eventsFor(channel, '/counted'))
        .filter((e) => e.name === 'subscription_count')
        .map((e) => (e as { subscription_count?: number }).subscription_count),
    ).toEqual([1, 2, 1]);
    first.close();
    second.close();
  });

  it('backs off 1 s, 2 s, 4 s ... up to a minute', () => {
    expect([1, 2, 3, 4, 7, 20].map(retryDelayMs)).toEqual([1000, 2000, 4000, 8000, 60000, 60000]);
  });
});

describe('a burst of webhook events', () => {
  it('goes out in several signed POSTs of at most 100 events and about 256 KB each, losing none', async () => {
    const channel = `private-burst-${crypto.randomUUID()}`;
    const { stub } = channelOf(channel, 'hooks');
    await runInDurableObject(stub, async (_instance, state) => {
      const queue = new WebhookQueue(state.storage.sql);
      const now = Date.now();
      for (let i = 0; i < 250; i++) {
        queue.enqueue(
          { name: 'client_event', channel, event: 'client-burst', data: JSON.stringify({ i, pad: 'x'.repeat(2000) }), socket_id: '1.2' },
          now,
        );
      }
      await queue.deliverDue(realtimeApp('hooks'), now, createLogger('error'));
    });
    // The POSTs go out in parallel; each body keeps its events in order.
    const bodies = (await received('/hooks')).filter((hook) => hook.body.includes(channel));
    for (const hook of bodies) expect(hook.headers['x-pusher-signature']).toBe(webhookSignature(hooks.secret, hook.body));
    const batches = bodies
      .map((hook) =>
        (JSON.parse(hook.body) as { events: Array<{ data: string }> }).events.map((e) => (JSON.parse(e.data) as { i: number }).i),
      )
      .sort((a, b) => a[0]! - b[0]!);
    expect(batches.map((batch) => batch.length)).toEqual([100, 100, 50]);
    expect(batches.flat()).toEqual(Array.from({ length: 250 }, (_, i) => i));
  });

  it('cuts bodies by size as well as by count', () => {
    const big = JSON.stringify({ name: 'client_event', data: 'x'.repeat(9000) });
    const bodies = webhookBodies(Array.from({ length: 60 }, () => big));
    expect(bodies.length).toBeGreaterThan(2);
    for (const body of bodies) expect(body.join(',').length).toBeLessThanOrEqual(256 * 1024);
    expect(bodies.flat()).toHaveLength(60);
    // Counted in UTF-8 bytes: 3,400 euro signs are 10,200 bytes of client event data.
    const euros = JSON.stringify({ name: 'client_event', data: '€'.repeat(3400) });
    const wide = webhookBodies(Array.from({ length: 100 }, () => euros));
    expect(wide.length).toBeGreaterThan(1);
    for (const body of wide) expect(new TextEncoder().encode(body.join(',')).byteLength).toBeLessThanOrEqual(256 * 1024);
    expect(webhookBodies(Array.from({ length: 250 }, () => '{}')).map((body) => body.length)).toEqual([
      MAX_EVENTS_PER_WEBHOOK,
      MAX_EVENTS_PER_WEBHOOK,
      50,
    ]);
  });
});
