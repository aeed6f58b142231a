import { env } from 'cloudflare:workers';
import Pusher from 'pusher';
import { describe, expect, it } from 'vitest';
import { acceptedByPusherStub } from '../../support/workerd/pusher-api-stub.ts';

function pusherFor(secret: string): Pusher {
  return new Pusher({
    appId: env.PUSHER_APP_ID,
    key: env.PUSHER_APP_KEY,
    secret,
    host: '127.0.0.1',
    port: env.PUSHER_API_STUB_PORT,
    useTLS: false,
  });
}

// Proves the `node-fetch` alias in wrangler.toml: without it the SDK fails in workerd with
// "fetch2 is not a function".
describe('the pusher SDK inside workerd', () => {
  it('sends a signed trigger that a Pusher HTTP API verifies', async () => {
    const channel = `private-user.${crypto.randomUUID()}`;
    const response = await pusherFor(env.PUSHER_APP_SECRET).trigger(channel, 'email.received', { id: 'e1' });
    expect(response.status).toBe(200);

    const accepted = await acceptedByPusherStub();
    const request = accepted.find((r) => r.body.includes(channel));
    expect(request).toMatchObject({ method: 'POST', path: `/apps/${env.PUSHER_APP_ID}/events` });
    expect(JSON.parse(request!.body)).toEqual({
      name: 'email.received',
      data: JSON.stringify({ id: 'e1' }),
      channels: [channel],
    });
  });

  it('is refused with 401 when signed with the wrong secret', async () => {
    await expect(pusherFor('not-the-secret').trigger('news', 'tick', {})).rejects.toMatchObject({ status: 401 });
  });
});
