import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { broadcast } from '../../../../functions/broadcast/broadcast.ts';
import { BatchPublishError, type PublishRequest } from '../../../../functions/broadcast/broadcaster.ts';
import { RealtimeBroadcaster } from '../../../../functions/broadcast/drivers/realtime.ts';
import { EmailUpdated } from '../../../../functions/broadcast/events.ts';
import { emailModelEvents } from '../../../../functions/broadcast/model-events.ts';
import { authEnv, call, es256Token, formPost, userClaims } from '../../../support/workerd/auth.ts';
import { publish } from '../../../support/workerd/realtime.ts';
import { RawClient } from '../../../support/workerd/realtime-client.ts';
import { emailRow } from '../../../support/workerd/webhooks.ts';

describe('the realtime broadcaster', () => {
  it('checks the event, then hands it to the realtime server’s publish', async () => {
    const calls: PublishRequest[][] = [];
    const broadcaster = new RealtimeBroadcaster(async (requests) => void calls.push(requests));
    await broadcaster.publish({ channels: ['private-user.a'], name: 'email.deleted', data: '{"id":"a"}', socketId: '' });
    expect(calls).toEqual([[{ channels: ['private-user.a'], name: 'email.deleted', data: '{"id":"a"}' }]]);
    await expect(broadcaster.publish({ channels: ['private-user.a'], name: '', data: '{}' })).rejects.toThrow(/Invalid event name/);
    expect(calls).toHaveLength(1);
  });

  it('publishes a batch in one call, and reports none published when the server refuses it', async () => {
    const published: PublishRequest[][] = [];
    let refuse = false;
    const broadcaster = new RealtimeBroadcaster(async (requests) => {
      if (refuse) throw new Error('The channel object is unavailable');
      published.push(requests);
    });
    const requests = [
      { channels: ['a'], name: 'x', data: '1' },
      { channels: ['b'], name: 'y', data: '2', socketId: '1.2' },
    ];
    await broadcaster.publishBatch(requests);
    expect(published).toEqual([requests]);
    refuse = true;
    const error = await broadcaster.publishBatch(requests).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BatchPublishError);
    expect((error as BatchPublishError).published).toBe(0);
  });
});

// The `realtime` broadcaster with the real RealtimeServer Durable Object, and the channel auth of
// /broadcasting/auth accepted by that server: the whole path inside workerd, without a database.
const open: RawClient[] = [];
afterEach(() => {
  for (const client of open.splice(0)) client.close();
});

/** A connected client subscribed to `private-user.{userId}` with auth from POST /broadcasting/auth. */
async function subscribedUser(userId: string): Promise<{ client: RawClient; socketId: string }> {
  const client = await RawClient.connect(env.PUSHER_APP_KEY);
  open.push(client);
  const socketId = await client.socketId();
  const channel = `private-user.${userId}`;
  const response = await call(
    '/broadcasting/auth',
    formPost(await es256Token(userClaims(userId)), { socket_id: socketId, channel_name: channel }),
  );
  expect(response.status).toBe(200);
  const { auth } = (await response.json()) as { auth: string };
  client.send({ event: 'pusher:subscribe', data: { channel, auth } });
  await client.next('pusher_internal:subscription_succeeded', channel);
  return { client, socketId };
}

describe('the realtime broadcaster with the realtime server', () => {
  it('delivers an email.updated to the recipient subscribed through /broadcasting/auth', async () => {
    const row = emailRow({ recipient_id: crypto.randomUUID(), read_at: '2026-11-28T03:00:00+00:00' });
    const { client } = await subscribedUser(row.recipient_id);
    // The webhook's path from the outbox to here needs the database: test/integration covers it.
    await broadcast(authEnv({ BROADCAST_DRIVER: 'realtime' }), emailModelEvents.updated(row));
    const frame = await client.next(EmailUpdated.name, `private-user.${row.recipient_id}`);
    expect(EmailUpdated.schema.parse(frame.data)).toEqual({ id: row.id, read_at: row.read_at });
  });

  it('leaves out the sender’s own connection with toOthers', async () => {
    const userId = crypto.randomUUID();
    const sender = await subscribedUser(userId);
    const otherTab = await subscribedUser(userId);
    const row = emailRow({ recipient_id: userId, read_at: '2026-11-28T03:00:00+00:00' });
    const request = new Request('http://tidings.test/', { headers: { 'X-Socket-ID': sender.socketId } });
    await broadcast(authEnv({ BROADCAST_DRIVER: 'realtime' }), EmailUpdated.to(row, { id: row.id, read_at: row.read_at }), {
      toOthers: request,
    });
    expect((await otherTab.client.next(EmailUpdated.name)).data).toEqual({ id: row.id, read_at: row.read_at });
    await publish({ channels: [`private-user.${userId}`], name: 'marker', data: '{}' });
    expect(await sender.client.noneBefore(EmailUpdated.name, 'marker')).toBe(true);
  });

  it('does not let a user subscribe to another user’s channel with a signature made for them', async () => {
    const ada = crypto.randomUUID();
    const client = await RawClient.connect(env.PUSHER_APP_KEY);
    open.push(client);
    const socketId = await client.socketId();
    const response = await call(
      '/broadcasting/auth',
      formPost(await es256Token(userClaims(ada)), { socket_id: socketId, channel_name: `private-user.${ada}` }),
    );
    const { auth } = (await response.json()) as { auth: string };
    const grace = `private-user.${crypto.randomUUID()}`;
    client.send({ event: 'pusher:subscribe', data: { channel: grace, auth } });
    const error = await client.next('pusher:subscription_error', grace);
    expect(error.data).toMatchObject({ type: 'AuthError', status: 401 });
    client.send({ event: 'pusher:ping', data: {} });
    expect(await client.noneBefore('pusher_internal:subscription_succeeded', 'pusher:pong')).toBe(true);
  });
});
