// One contract for every broadcaster (realtime, pusher, ably, log, null, fake): what a publish
// delivers, batches in order, toOthers, the service's limits, and its errors, 4xx (refused as it is)
// apart from 5xx (worth retrying: the redelivery cron tries again). Each driver says how to see what
// reached its service; where a driver has no such thing (log and fake have no limits, null delivers
// nowhere), its row says so, and docs/drivers.md lists the same table.
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeAblySocketId, pusherChannelName } from '../../../../functions/broadcast/ably-rules.ts';
import { BatchPublishError, type Broadcaster, BroadcastRefused, type PublishRequest } from '../../../../functions/broadcast/broadcaster.ts';
import { retryable } from '../../../../functions/broadcast/delivery.ts';
import { AblyBroadcaster, ablyRest } from '../../../../functions/broadcast/drivers/ably.ts';
import { BroadcastFake } from '../../../../functions/broadcast/drivers/fake.ts';
import { LogBroadcaster } from '../../../../functions/broadcast/drivers/log.ts';
import { NullBroadcaster } from '../../../../functions/broadcast/drivers/null.ts';
import { PusherBroadcaster, pusherClient } from '../../../../functions/broadcast/drivers/pusher.ts';
import { RealtimeBroadcaster, realtimePublish } from '../../../../functions/broadcast/drivers/realtime.ts';
import { loadConfig } from '../../../../functions/config.ts';
import { PublishError } from '../../../../functions/realtime/publishing.ts';
import { ablyStubVars, acceptedByAblyStub, openAblyConnection } from '../../../support/workerd/ably-rest-stub.ts';
import { envWith } from '../../../support/workerd/env.ts';
import { acceptedByPusherStub, pusherStubVars } from '../../../support/workerd/pusher-api-stub.ts';
import { clientsClosedAfterEach } from '../../../support/workerd/realtime-client.ts';

/** An event as it reached the service (or, for realtime, a subscriber), data decoded from JSON. */
interface Delivered {
  channel: string;
  name: string;
  data: unknown;
}

interface DriverCase {
  name: string;
  make(): Broadcaster;
  /**
   * Starts watching `channels`, all named with `tag` (before publishing); the returned function
   * resolves with what was delivered on channels named with `tag` once `count` events are in, in
   * arrival order. Null: the driver delivers nowhere.
   */
  watch: ((tag: string, channels: string[]) => Promise<(count: number) => Promise<Delivered[]>>) | null;
  /** A sender of the driver's kind on `channel`; after the publish, whether the event left it out. Null: not supported. */
  sender: ((channel: string) => Promise<{ socketId: string; leftOut: (tag: string) => Promise<boolean> }>) | null;
  /** The largest data (bytes of JSON text) an event named `tick` may carry; null: no limit. */
  maxData: number | null;
  /**
   * A broadcaster and an event its service refuses with a 4xx, and whether that is worth retrying
   * (the deployment's fault, such as a wrong secret, not the event's); null: nothing to refuse.
   */
  refused: { make(): Broadcaster; request: PublishRequest; status: number; retryable: boolean } | null;
  /** A channel the service fails with a 5xx; null when the driver cannot be made to (see docs/drivers.md). */
  failingChannel: string | null;
}

const connect = clientsClosedAfterEach(env.PUSHER_APP_KEY);

function parse(data: string): unknown {
  return JSON.parse(data);
}

/** What the Pusher HTTP API stand-in accepted on channels containing `tag`, one entry per channel. */
async function pusherDelivered(tag: string): Promise<Delivered[]> {
  const delivered: Delivered[] = [];
  for (const request of await acceptedByPusherStub()) {
    if (!request.body.includes(tag)) continue;
    const body = JSON.parse(request.body) as {
      name?: string;
      data?: string;
      channels?: string[];
      batch?: Array<{ channel: string; name: string; data: string }>;
    };
    if (body.batch) delivered.push(...body.batch.map((e) => ({ channel: e.channel, name: e.name, data: parse(e.data) })));
    else for (const channel of body.channels ?? []) delivered.push({ channel, name: body.name!, data: parse(body.data!) });
  }
  return delivered.filter((d) => d.channel.includes(tag));
}

/** What the Ably REST stand-in accepted on channels containing `tag`, under their Pusher names. */
async function ablyDelivered(tag: string): Promise<Delivered[]> {
  return (await acceptedByAblyStub())
    .flatMap((request) => request.messages)
    .filter((m) => m.channel.includes(tag))
    .map((m) => ({ channel: pusherChannelName(m.channel)!, name: m.name!, data: parse(m.data!) }));
}

let logged: string[] = [];
beforeEach(() => {
  logged = [];
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => void logged.push(String(line)));
});
afterEach(() => vi.restoreAllMocks());

function logLines(): Array<{ msg: string; event: string; channels: string[]; data: string; socket_id?: string }> {
  return logged.flatMap((line) => {
    try {
      return [JSON.parse(line)];
    } catch {
      return [];
    }
  });
}

let fake = new BroadcastFake();

const drivers: DriverCase[] = [
  {
    name: 'realtime',
    make: () => new RealtimeBroadcaster(realtimePublish(env, env.PUSHER_APP_ID)),
    watch: async (_tag, channels) => {
      const client = await connect();
      for (const channel of channels) {
        client.send({ event: 'pusher:subscribe', data: { channel } });
        await client.next('pusher_internal:subscription_succeeded', channel);
      }
      return async (count) => {
        const events = () => client.frames.filter((f) => !f.event.startsWith('pusher'));
        await expect.poll(() => events().length).toBeGreaterThanOrEqual(count);
        return events().map((f) => ({ channel: f.channel!, name: f.event, data: f.data }));
      };
    },
    sender: async (channel) => {
      const sender = await connect();
      sender.send({ event: 'pusher:subscribe', data: { channel } });
      await sender.next('pusher_internal:subscription_succeeded', channel);
      return {
        socketId: await sender.socketId(),
        // The publish is in order on the channel: a later marker arriving first means the event never will.
        leftOut: async () => {
          await new RealtimeBroadcaster(realtimePublish(env, env.PUSHER_APP_ID)).publish({
            channels: [channel],
            name: 'marker',
            data: '{}',
          });
          return sender.noneBefore('tick', 'marker', channel);
        },
      };
    },
    maxData: 10_240,
    refused: {
      make: () => new RealtimeBroadcaster(realtimePublish(env, env.PUSHER_APP_ID)),
      request: { channels: ['contract-refused'], name: '', data: '{}' },
      status: 400,
      retryable: false,
    },
    // The server runs in this Worker: its Durable Objects' failures reach the caller as exceptions
    // without a status, which count as retryable; nothing makes it answer a 5xx on purpose.
    failingChannel: null,
  },
  {
    name: 'pusher',
    make: () => new PusherBroadcaster(pusherClient(loadConfig(envWith(pusherStubVars)))),
    watch: async (tag) => async () => pusherDelivered(tag),
    sender: async () => ({
      socketId: '123.456',
      leftOut: async (tag) =>
        (await acceptedByPusherStub()).some(
          (r) => r.body.includes(tag) && (JSON.parse(r.body) as { socket_id?: string }).socket_id === '123.456',
        ),
    }),
    maxData: 10_240,
    refused: {
      make: () => new PusherBroadcaster(pusherClient(loadConfig(envWith({ ...pusherStubVars, PUSHER_APP_SECRET: 'not-the-secret' })))),
      request: { channels: ['contract-refused'], name: 'tick', data: '{}' },
      status: 401,
      retryable: true,
    },
    failingChannel: 'stub-unavailable',
  },
  {
    name: 'ably',
    make: () => new AblyBroadcaster(ablyRest(loadConfig(envWith(ablyStubVars)))),
    watch: async (tag) => async () => ablyDelivered(tag),
    sender: async () => {
      const connection = await openAblyConnection('contract-user');
      return {
        socketId: encodeAblySocketId({ connectionKey: connection.connectionKey, clientId: 'contract-user' }),
        leftOut: async (tag) =>
          (await acceptedByAblyStub())
            .flatMap((r) => r.messages)
            .some((m) => m.channel.includes(tag) && m.connectionId === connection.connectionId),
      };
    },
    // Ably counts the name too: 65,536 bytes of name and data ('tick' is 4).
    maxData: 65_532,
    refused: {
      make: () => new AblyBroadcaster(ablyRest(loadConfig(envWith({ ...ablyStubVars, ABLY_KEY: 'tidingsTest.stubKey:not-the-secret' })))),
      request: { channels: ['contract-refused'], name: 'tick', data: '{}' },
      status: 401,
      retryable: true,
    },
    failingChannel: 'stub-unavailable',
  },
  {
    name: 'log',
    make: () => new LogBroadcaster(),
    watch: async () => async () =>
      logLines()
        .filter((line) => line.msg === 'broadcast')
        .flatMap((line) => line.channels.map((channel) => ({ channel, name: line.event, data: parse(line.data) }))),
    sender: async () => ({ socketId: '123.456', leftOut: async () => logLines().some((line) => line.socket_id === '123.456') }),
    maxData: null,
    refused: null,
    failingChannel: null,
  },
  {
    name: 'fake',
    make: () => fake,
    watch: async () => async () => fake.all().flatMap((b) => b.channels.map((channel) => ({ channel, name: b.name, data: b.data }))),
    sender: async () => ({ socketId: '123.456', leftOut: async () => fake.all().some((b) => b.socketId === '123.456') }),
    maxData: null,
    refused: null,
    failingChannel: null,
  },
  {
    name: 'null',
    make: () => new NullBroadcaster(),
    watch: null,
    sender: null,
    maxData: null,
    refused: null,
    failingChannel: null,
  },
];

beforeEach(() => {
  fake = new BroadcastFake();
});

/** The status and retry verdict a driver's error carries (the cause of a BatchPublishError). */
function refusalOf(error: unknown): { status: number | null; retryable: boolean } {
  const cause = error instanceof BatchPublishError ? error.cause : error;
  if (cause instanceof BroadcastRefused) return { status: cause.status, retryable: cause.retryable };
  // The realtime server's own checks refuse before sending; delivery decides as for any 4xx.
  if (cause instanceof PublishError) return { status: cause.status, retryable: retryable(error) };
  throw new Error(`Not a broadcaster refusal: ${String(cause)}`);
}

const channelsFor = (tag: string) => [`contract-${tag}-a`, `contract-${tag}-b`];

describe.each(drivers)('the $name broadcaster (contract)', (driver) => {
  it('publishes an event to every channel, with its name and data', async () => {
    const tag = crypto.randomUUID();
    const [a, b] = channelsFor(tag);
    const delivered = await driver.watch?.(tag, [a!, b!]);
    await driver.make().publish({ channels: [a!, b!], name: 'tick', data: `{"tag":"${tag}"}` });
    if (!delivered) return expect(driver.name).toBe('null');
    expect(await delivered(2)).toEqual([
      { channel: a, name: 'tick', data: { tag } },
      { channel: b, name: 'tick', data: { tag } },
    ]);
  });

  it('publishes a batch in order on each channel', async () => {
    const tag = crypto.randomUUID();
    const [a, b] = channelsFor(tag);
    const delivered = await driver.watch?.(tag, [a!, b!]);
    await driver.make().publishBatch([
      { channels: [a!], name: 'tick', data: '{"n":1}' },
      { channels: [b!], name: 'tick', data: '{"n":2}' },
      { channels: [a!], name: 'tock', data: '{"n":3}' },
    ]);
    if (!delivered) return expect(driver.name).toBe('null');
    const events = await delivered(3);
    expect(events.filter((e) => e.channel === a)).toEqual([
      { channel: a, name: 'tick', data: { n: 1 } },
      { channel: a, name: 'tock', data: { n: 3 } },
    ]);
    expect(events.filter((e) => e.channel === b)).toEqual([{ channel: b, name: 'tick', data: { n: 2 } }]);
  });
});

describe.each(drivers.filter((driver) => driver.sender))('the $name broadcaster (contract: toOthers)', (driver) => {
  it('leaves out the sender’s connection', async () => {
    const tag = crypto.randomUUID();
    const [a] = channelsFor(tag);
    const delivered = await driver.watch!(tag, [a!]);
    const sender = await driver.sender!(a!);
    await driver.make().publish({ channels: [a!], name: 'tick', data: '{}', socketId: sender.socketId });
    expect((await delivered(1))[0]).toMatchObject({ channel: a, name: 'tick' });
    expect(await sender.leftOut(tag)).toBe(true);
  });
});

describe.each(drivers.filter((driver) => driver.maxData !== null))('the $name broadcaster (contract: limits)', (driver) => {
  it('refuses an event over the service’s data limit with a 413, and takes one at the limit', async () => {
    const [a] = channelsFor(crypto.randomUUID());
    await driver.make().publish({ channels: [a!], name: 'tick', data: `"${'x'.repeat(driver.maxData! - 2)}"` });
    const error = await driver
      .make()
      .publish({ channels: [a!], name: 'tick', data: `"${'x'.repeat(driver.maxData! - 1)}"` })
      .catch((e: unknown) => e);
    expect(refusalOf(error)).toEqual({ status: 413, retryable: false });
  });

  it('refuses a channel name or an event name outside Pusher’s rules with a 400 before sending it, which retrying would not change', async () => {
    const tag = crypto.randomUUID();
    const [a] = channelsFor(tag);
    const delivered = await driver.watch!(tag, [a!]);
    const badChannel = await driver
      .make()
      .publish({ channels: [`${a} with spaces`], name: 'tick', data: '{}' })
      .catch((e: unknown) => e);
    expect(refusalOf(badChannel)).toEqual({ status: 400, retryable: false });
    // In a batch, the events before the bad one go out, and the count says so.
    const longName = await driver
      .make()
      .publishBatch([
        { channels: [a!], name: 'tick', data: '{"n":1}' },
        { channels: [a!], name: 'x'.repeat(201), data: '{"n":2}' },
      ])
      .catch((e: unknown) => e);
    expect(longName).toBeInstanceOf(BatchPublishError);
    expect((longName as BatchPublishError).published).toBe(1);
    expect(refusalOf(longName)).toEqual({ status: 400, retryable: false });
    expect(await delivered(1)).toEqual([{ channel: a, name: 'tick', data: { n: 1 } }]);
  });
});

describe.each(drivers.filter((driver) => driver.refused))('the $name broadcaster (contract: 4xx)', (driver) => {
  it('fails with the service’s 4xx, retryable when the deployment is at fault (a wrong secret), not when the event is', async () => {
    const { make, request, status, retryable } = driver.refused!;
    const error = await make()
      .publish(request)
      .catch((e: unknown) => e);
    expect(refusalOf(error)).toEqual({ status, retryable });
    const batch = await make()
      .publishBatch([request])
      .catch((e: unknown) => e);
    expect(batch).toBeInstanceOf(BatchPublishError);
    expect((batch as BatchPublishError).published).toBe(0);
    expect(refusalOf(batch)).toEqual({ status, retryable });
  });
});

describe.each(drivers.filter((driver) => driver.failingChannel))('the $name broadcaster (contract: 5xx)', (driver) => {
  it('fails with the service’s 5xx as retryable, counting only what went out before it', async () => {
    const tag = crypto.randomUUID();
    const [a] = channelsFor(tag);
    const error = await driver
      .make()
      .publishBatch([
        { channels: [a!], name: 'tick', data: '{}' },
        { channels: [`${driver.failingChannel}-${tag}`], name: 'tick', data: '{}' },
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BatchPublishError);
    const { status, retryable } = refusalOf(error);
    expect(retryable).toBe(true);
    expect(status).toBeGreaterThanOrEqual(500);
    const published = (error as BatchPublishError).published;
    expect(published).toBeLessThanOrEqual(1);
    // What it counts as published did reach the service.
    const delivered = await driver.watch!(tag, []);
    expect((await delivered(0)).filter((e) => e.channel === a).length).toBe(published);
  });
});
