import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { clientsClosedAfterEach, RawClient } from '../../support/workerd/realtime-client.ts';

const key = env.PUSHER_APP_KEY;
const connect = clientsClosedAfterEach(key);

describe('WebSocket handshake inside workerd', () => {
  it('sends connection_established with a socket id like 123.456 and an activity timeout', async () => {
    const client = await connect();
    const frame = await client.next('pusher:connection_established');
    expect(frame.data).toEqual({ socket_id: expect.stringMatching(/^\d+\.\d+$/), activity_timeout: 30 });
    expect(JSON.parse(client.raw[0]!).data).toBeTypeOf('string');
  });

  it('closes an unknown key with 4001 after a pusher:error naming it', async () => {
    const client = await RawClient.connect('no-such-key');
    const error = await client.next('pusher:error');
    expect(error.data).toEqual({ code: 4001, message: "App key 'no-such-key' does not exist" });
    expect((await client.waitClosed()).code).toBe(4001);
  });

  it('closes a connection without a protocol version with 4008 and a wrong one with 4007', async () => {
    expect((await (await RawClient.connect(key, 'client=js')).waitClosed()).code).toBe(4008);
    expect((await (await RawClient.connect(key, 'protocol=5')).waitClosed()).code).toBe(4007);
  });
});

describe('a disabled app', () => {
  it('refuses WebSocket connections with 4003', async () => {
    const client = await RawClient.connect('disabled-key');
    expect((await client.waitClosed()).code).toBe(4003);
  });
});
