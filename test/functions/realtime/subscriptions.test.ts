import { describe, expect, it } from 'vitest';
import { freshAddress, subscribe } from '../../support/workerd/realtime.ts';
import { clientsClosedAfterEach } from '../../support/workerd/realtime-client.ts';

/** The strict app of vitest.config.ts: 3 channels per connection, 5 subscribe requests per second. */
const strict = { key: 'strict-key', secret: 'strict-secret-for-tests' };
const connect = clientsClosedAfterEach(strict.key, { address: freshAddress });

describe('subscription limits', () => {
  it('refuses a channel over the per-connection limit, naming the setting, and serves the rest', async () => {
    const client = await connect();
    for (const name of ['one', 'two', 'three']) await subscribe(client, `${name}-${crypto.randomUUID()}`, { app: strict });
    const fourth = `four-${crypto.randomUUID()}`;
    client.send({ event: 'pusher:subscribe', data: { channel: fourth } });
    expect((await client.next('pusher:subscription_error', fourth)).data).toEqual({
      type: 'LimitReached',
      status: 403,
      error: 'Too many channels: at most 3 per connection (REALTIME_MAX_CHANNELS_PER_CONNECTION)',
    });
    client.send({ event: 'pusher:ping', data: {} });
    await client.next('pusher:pong');
    expect(client.closed).toBeNull();
  });

  it('refuses subscribe requests over the per-second limit, closes a flood, and keeps serving others', async () => {
    const flooder = await connect();
    const bystander = await connect();
    await flooder.socketId();
    // The same channel again and again: the channel limit never applies, only the rate does. 60
    // requests cannot be split by a second boundary into two seconds of at most 25 (five times 5).
    const name = `flood-${crypto.randomUUID()}`;
    for (let i = 0; i < 60; i++) flooder.send({ event: 'pusher:subscribe', data: { channel: name } });
    const refused = await flooder.next('pusher:subscription_error');
    expect(refused.data).toMatchObject({
      status: 429,
      error: 'Too many subscribe requests: at most 5 per second (REALTIME_SUBSCRIBES_PER_SECOND)',
    });
    expect((await flooder.next('pusher:error')).data).toEqual({ message: 'Subscribe flood: over 25 in a second', code: 4100 });
    expect((await flooder.waitClosed()).code).toBe(4100);
    await subscribe(bystander, `calm-${crypto.randomUUID()}`, { app: strict });
  });
});
