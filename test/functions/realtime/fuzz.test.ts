// Hostile frames from a seeded generator: whatever a client sends, it gets a pusher:error, a
// subscription_error or a close code (or a normal answer), never an exception, and a well-behaved
// client on the same app keeps being served the whole time.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { freshAddress, publish, subscribe } from '../../support/workerd/realtime.ts';
import { RawClient } from '../../support/workerd/realtime-client.ts';

/** The strict app of vitest.config.ts: small limits, client events on. */
const strict = { key: 'strict-key', secret: 'strict-secret-for-tests' };
const open: RawClient[] = [];

afterEach(() => {
  for (const client of open.splice(0)) client.close();
});

const prefixes = [
  '',
  'private-',
  'presence-',
  'private-encrypted-',
  'cache-',
  'private-cache-',
  'presence-cache-',
  'private-encrypted-cache-',
  '#server-to-user-',
];
const channelName = fc.tuple(fc.constantFrom(...prefixes), fc.string({ maxLength: 200 })).map(([prefix, rest]) => prefix + rest);
/** Values of every JSON type, some deeply nested, some large. */
const jsonValue = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.integer({ min: 1, max: 200 }).map((depth) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) as unknown),
  fc.nat({ max: 30_000 }).map((size) => 'x'.repeat(size)),
);
const event = fc.constantFrom(
  'pusher:subscribe',
  'pusher:unsubscribe',
  'pusher:signin',
  'pusher:ping',
  'pusher:pong',
  'client-x',
  'pusher:nope',
  '',
);
/** A frame: valid-looking envelopes with hostile contents, and plain garbage. */
const hostileFrame = fc.oneof(
  fc.record({ event, channel: fc.option(channelName, { nil: undefined }), data: jsonValue }).map((frame) => JSON.stringify(frame)),
  fc
    .record({
      event,
      data: fc.record({ channel: fc.oneof(channelName, jsonValue), auth: fc.oneof(fc.string(), jsonValue), channel_data: jsonValue }),
    })
    .map((frame) => JSON.stringify(frame)),
  fc.string({ maxLength: 300 }),
  fc.nat({ max: 5000 }).map((depth) => `{"event":"client-x","data":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`),
);

describe('hostile frames (seeded fuzzing)', () => {
  it('get an error or a close code, and never stop the server serving a well-behaved client', { timeout: 60_000 }, async () => {
    const calm = await RawClient.connect(strict.key, undefined, freshAddress());
    open.push(calm);
    const channel = `calm-${crypto.randomUUID()}`;
    await subscribe(calm, channel, { app: strict });
    const frames = fc.sample(hostileFrame, { numRuns: 300, seed: 20261203 });
    for (let start = 0; start < frames.length; start += 30) {
      const attacker = await RawClient.connect(strict.key, undefined, freshAddress());
      open.push(attacker);
      await attacker.socketId();
      for (const frame of frames.slice(start, start + 30)) attacker.send(frame);
      // A marker after the burst that no generated frame can produce (a ping's pong can: the burst
      // has pings of its own), so the frames before it have been handled: a subscribe to a channel
      // of its own, answered with success or with a refusal naming it (the strict app's limits).
      const marker = `marker-${crypto.randomUUID()}`;
      attacker.send({ event: 'pusher:subscribe', data: { channel: marker } });
      const outcome = await Promise.race([
        attacker.next('pusher_internal:subscription_succeeded', marker, 10_000).then(() => 'answered'),
        attacker.next('pusher:subscription_error', marker, 10_000).then(() => 'answered'),
        attacker.waitClosed(10_000).then((closed) => closed.code),
      ]);
      if (outcome !== 'answered') expect(outcome).toBeGreaterThanOrEqual(4000);
      // Thirty hostile frames are never all taken in silence: some are refused, by a frame or a close.
      const refusals = attacker.frames.filter((frame) => frame.event === 'pusher:error' || frame.event === 'pusher:subscription_error');
      if (outcome === 'answered') expect(refusals.length).toBeGreaterThan(0);
      // Every frame the attacker got is a protocol frame, never an error of the server's own.
      for (const frame of attacker.frames) expect(frame.event).toMatch(/^(pusher:|pusher_internal:|client-x$)/);
      expect(
        attacker.frames.filter((frame) => frame.event === 'pusher:error').map((frame) => (frame.data as { message: string }).message),
      ).not.toContain('The server could not handle this message; try again');
      // Meanwhile the calm client is served at once.
      await publish({ channels: [channel], name: 'tick', data: JSON.stringify({ start }) }, 'strict');
      expect((await calm.next('tick', channel)).data).toEqual({ start });
    }
  });
});
