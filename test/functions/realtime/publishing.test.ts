import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { validatePublish } from '../../../functions/realtime/publishing.ts';
import type { RealtimeServer } from '../../../functions/realtime/server.ts';

describe('validatePublish (the RPC contract)', () => {
  it('throws an error that quotes the problem', () => {
    expect(() => validatePublish({ channels: ['ok'], name: 'x', data: {} })).toThrow("Invalid data for event 'x': expected a string (JSON-encode objects)");
    expect(() => validatePublish({ channels: [], name: 'x', data: '' })).toThrow('Invalid channels: expected 1 to 100 channel names');
    expect(() => validatePublish({ channels: ['a'], name: 'x'.repeat(201), data: '' })).toThrow('Event name too long: 201 characters (at most 200)');
    expect(validatePublish({ channels: ['a', 'a', '#server-to-user-42'], name: 'x', data: '' })).toEqual({ channels: ['a', '#server-to-user-42'], name: 'x', data: '' });
  });

  it('is what the Durable Object publish() enforces', async () => {
    // Called in the object, not over RPC: the vitest pool reports an RPC rejection as unhandled.
    await runInDurableObject(env.REALTIME.get(env.REALTIME.idFromName(env.PUSHER_APP_ID)), async (server: RealtimeServer) => {
      await expect(server.publish({ channels: ['bad channel'], name: 'x', data: '' })).rejects.toThrow(/Invalid channel name: 'bad channel'/);
    });
  });
});
