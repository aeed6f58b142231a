import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { BatchPublishError } from '../../../functions/broadcast/broadcaster.ts';
import { RealtimeBroadcaster, realtimePublish } from '../../../functions/broadcast/drivers/realtime.ts';
import { publishEvents, validatePublish } from '../../../functions/realtime/publishing.ts';
import { realtimeApp, subscribe } from '../../support/workerd/realtime.ts';
import { RawClient } from '../../support/workerd/realtime-client.ts';

describe('validatePublish (the RPC contract)', () => {
  it('throws an error that quotes the problem', () => {
    expect(() => validatePublish({ channels: ['ok'], name: 'x', data: {} })).toThrow(
      "Invalid data for event 'x': expected a string (JSON-encode objects)",
    );
    expect(() => validatePublish({ channels: [], name: 'x', data: '' })).toThrow('Invalid channels: expected 1 to 100 channel names');
    expect(() => validatePublish({ channels: ['a'], name: 'x'.repeat(201), data: '' })).toThrow(
      'Event name too long: 201 characters (at most 200)',
    );
    expect(validatePublish({ channels: ['a', 'a', '#server-to-user-42'], name: 'x', data: '' })).toEqual({
      channels: ['a', '#server-to-user-42'],
      name: 'x',
      data: '',
    });
  });

  it('refuses a request that breaks a rule, through the broadcaster as through the API; a batch sends the events before it', async () => {
    const broadcaster = new RealtimeBroadcaster(realtimePublish(env, env.PUSHER_APP_ID));
    await expect(broadcaster.publish({ channels: ['bad channel'], name: 'x', data: '' })).rejects.toThrow(
      /Invalid channel name: 'bad channel'/,
    );
    // A batch publishes the events before the bad one and names the bad one by the count.
    const published: unknown[] = [];
    const recording = new RealtimeBroadcaster(async (requests) => void published.push(...requests));
    const error = await recording
      .publishBatch([
        { channels: ['fine'], name: 'x', data: '' },
        { channels: ['fine'], name: '', data: '' },
        { channels: ['fine'], name: 'after', data: '' },
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BatchPublishError);
    expect((error as BatchPublishError).published).toBe(1);
    expect((error as BatchPublishError).message).toMatch(/Invalid event name/);
    expect(published).toEqual([{ channels: ['fine'], name: 'x', data: '' }]);
  });

  it('reports user_count and subscription_count per channel when asked', async () => {
    const name = `presence-counted-${crypto.randomUUID()}`;
    const client = await RawClient.connect(env.PUSHER_APP_KEY);
    try {
      await subscribe(client, name, { channelData: JSON.stringify({ user_id: 'counted' }) });
      const [info] = await publishEvents(
        env,
        realtimeApp(),
        [validatePublish({ channels: [name, 'nobody-here'], name: 'x', data: '{}' })],
        ['user_count', 'subscription_count'],
      );
      expect(info).toEqual({ [name]: { user_count: 1, subscription_count: 1 }, 'nobody-here': { subscription_count: 0 } });
    } finally {
      client.close();
    }
  });
});
