import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { broadcast, broadcasterFor, fakeBroadcasting, restoreBroadcasting, socketIdOf } from '../../../functions/broadcast/broadcast.ts';
import { BatchPublishError, type PublishRequest } from '../../../functions/broadcast/broadcaster.ts';
import { LogBroadcaster } from '../../../functions/broadcast/drivers/log.ts';
import { NullBroadcaster } from '../../../functions/broadcast/drivers/null.ts';
import { pusherClient, PusherBroadcaster } from '../../../functions/broadcast/drivers/pusher.ts';
import { RealtimeBroadcaster } from '../../../functions/broadcast/drivers/realtime.ts';
import { EmailDeleted, EmailReceived, EmailUpdated, MAX_EVENT_DATA_BYTES, previewOf } from '../../../functions/broadcast/events.ts';
import { BroadcastFake } from '../../../functions/broadcast/drivers/fake.ts';
import { emailModelEvents, type EmailRow } from '../../../functions/broadcast/model-events.ts';
import { loadConfig } from '../../../functions/config.ts';
import { envWith } from '../../support/workerd/env.ts';

const recipient = '7b0d1c1e-5a55-4a8e-9a53-1d6b2f0c9e01';
const sender = '00000000-0000-0000-0000-000000000001';

function row(overrides: Partial<EmailRow> = {}): EmailRow {
  return {
    id: crypto.randomUUID(),
    sender_id: sender,
    recipient_id: recipient,
    subject: 'Quarterly numbers',
    body: 'Hello Ada,\n\nthe numbers are in.',
    created_at: '2026-11-28T02:01:15.123456+00:00',
    read_at: null,
    delivered_at: null,
    delivery_attempts: 0,
    ...overrides,
  };
}

afterEach(() => restoreBroadcasting());

describe('events', () => {
  it('sends email.received to the recipient’s private channel with a summary', () => {
    const email = row();
    const message = emailModelEvents.created(email, 'Grace Hopper');
    expect(message.event.name).toBe('email.received');
    expect(message.channels).toEqual([`private-user.${recipient}`]);
    expect(message.data).toEqual({
      id: email.id,
      sender_id: sender,
      sender_name: 'Grace Hopper',
      subject: 'Quarterly numbers',
      preview: 'Hello Ada, the numbers are in.',
      created_at: email.created_at,
    });
  });

  it('keeps the largest possible email’s summary far below Pusher’s 10 KB', () => {
    const message = emailModelEvents.created(row({ subject: 'S'.repeat(200), body: '€'.repeat(20_000) }), 'N'.repeat(500));
    const bytes = new TextEncoder().encode(JSON.stringify(message.data)).length;
    expect(bytes).toBeLessThan(2_000);
    expect(bytes).toBeLessThan(MAX_EVENT_DATA_BYTES);
  });

  it('cuts the preview at 140 characters without splitting an emoji', () => {
    expect(previewOf('a'.repeat(139) + '😀😀')).toBe('a'.repeat(139) + '😀…');
    expect(previewOf('short   body\n')).toBe('short body');
  });

  it('maps updates and deletes to email.updated and email.deleted', () => {
    const email = row({ read_at: '2026-11-28T03:00:00+00:00' });
    expect(emailModelEvents.updated(email)).toMatchObject({ channels: [`private-user.${recipient}`], data: { id: email.id, read_at: email.read_at } });
    expect(emailModelEvents.deleted(email)).toMatchObject({ event: { name: 'email.deleted' }, data: { id: email.id } });
  });

  it('refuses a payload that breaks the schema', () => {
    expect(() => EmailUpdated.to({ recipient_id: recipient }, { id: 'not-an-id', read_at: 'yesterday' })).toThrow(
      'email.updated payload does not match its schema: id (invalid_format), read_at (Invalid timestamp)',
    );
    expect(() => EmailReceived.to({ recipient_id: recipient }, { ...(emailModelEvents.created(row(), 'x').data as object), subject: '' } as never)).toThrow(
      'email.received payload does not match its schema: subject (too_small)',
    );
  });

  it('parses a received payload on the client side with the same schema', () => {
    const message = emailModelEvents.created(row(), 'Grace');
    expect(EmailReceived.schema.parse(JSON.parse(JSON.stringify(message.data)))).toEqual(message.data);
    expect(EmailDeleted.channel({ recipient_id: recipient })).toBe(`private-user.${recipient}`);
  });
});

async function acceptedByStub(): Promise<Array<{ method: string; path: string; query: Record<string, string>; body: string }>> {
  return (await fetch(`http://127.0.0.1:${env.PUSHER_API_STUB_PORT}/__accepted`)).json();
}

function pusherEnv(overrides: Partial<Record<keyof Env, string>> = {}): Env {
  return envWith({ BROADCAST_DRIVER: 'pusher', PUSHER_HOST: '127.0.0.1', PUSHER_PORT: env.PUSHER_API_STUB_PORT, PUSHER_SCHEME: 'http', ...overrides });
}

describe('the pusher broadcaster', () => {
  it('publishes a signed event that a Pusher HTTP API accepts, excluding the sender’s socket', async () => {
    const channel = `private-user.${crypto.randomUUID()}`;
    const testEnv = pusherEnv();
    const broadcaster = broadcasterFor(loadConfig(testEnv), testEnv);
    expect(broadcaster).toBeInstanceOf(PusherBroadcaster);
    await broadcaster.publish({ channels: [channel], name: 'email.updated', data: '{"id":"x"}', socketId: '123.456' });
    const request = (await acceptedByStub()).find((r) => r.body.includes(channel));
    expect(request).toMatchObject({ method: 'POST', path: `/apps/${env.PUSHER_APP_ID}/events` });
    expect(JSON.parse(request!.body)).toEqual({ name: 'email.updated', data: '{"id":"x"}', channels: [channel], socket_id: '123.456' });
  });

  it('splits more than 100 channels into several signed requests', async () => {
    const tag = crypto.randomUUID();
    const channels = Array.from({ length: 150 }, (_, i) => `fanout-${tag}-${i}`);
    await new PusherBroadcaster(pusherClient(loadConfig(pusherEnv()))).publish({ channels, name: 'tick', data: '{}' });
    const requests = (await acceptedByStub()).filter((r) => r.body.includes(tag));
    expect(requests.map((r) => JSON.parse(r.body).channels.length)).toEqual([100, 50]);
  });

  it('publishes a batch ten events per signed batch_events request, one channel each, in order', async () => {
    const tag = crypto.randomUUID();
    const requests: PublishRequest[] = Array.from({ length: 12 }, (_, i) => ({ channels: [`batch-${tag}-${i}`], name: 'email.received', data: `{"n":${i}}` }));
    requests.push({ channels: [`batch-${tag}-a`, `batch-${tag}-b`], name: 'tick', data: '{}', socketId: '123.456' });
    await new PusherBroadcaster(pusherClient(loadConfig(pusherEnv()))).publishBatch(requests);
    const batches = (await acceptedByStub()).filter((r) => r.body.includes(tag));
    expect(batches.every((r) => r.path === `/apps/${env.PUSHER_APP_ID}/batch_events`)).toBe(true);
    const sent = batches.map((r) => (JSON.parse(r.body) as { batch: Array<{ channel: string; data: string; socket_id?: string }> }).batch);
    expect(sent.map((batch) => batch.length)).toEqual([10, 4]);
    expect(sent.flat().map((event) => event.channel)).toEqual([...Array.from({ length: 12 }, (_, i) => `batch-${tag}-${i}`), `batch-${tag}-a`, `batch-${tag}-b`]);
    expect(sent.flat().at(-1)).toMatchObject({ name: 'tick', socket_id: '123.456' });
  });

  it('says how many of a batch went out when Pusher refuses a later part of it', async () => {
    const tag = crypto.randomUUID();
    const requests: PublishRequest[] = Array.from({ length: 12 }, (_, i) => ({ channels: [`refused-${tag}-${i}`], name: 'tick', data: i === 11 ? `"${'x'.repeat(10_300)}"` : '{}' }));
    const error = await new PusherBroadcaster(pusherClient(loadConfig(pusherEnv()))).publishBatch(requests).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BatchPublishError);
    expect((error as BatchPublishError).published).toBe(10);
    expect((error as Error).message).toMatch(/^Pusher refused a batch of 2 events: 413/);
  });

  it('fails with the status when the server refuses, without leaking the secret', async () => {
    const broadcaster = new PusherBroadcaster(pusherClient(loadConfig(pusherEnv({ PUSHER_APP_SECRET: 'wrong-secret-value' }))));
    const error = await broadcaster.publish({ channels: ['news'], name: 'tick', data: '{}' }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^Pusher refused tick on news: 401/);
    expect((error as Error).message).not.toContain('wrong-secret-value');
  });
});

describe('the realtime broadcaster', () => {
  it('calls publish on the app’s one Durable Object, named by the app id', async () => {
    const calls: Array<{ name: string; request: PublishRequest }> = [];
    const namespace = {
      idFromName: (name: string) => ({ name }) as unknown as DurableObjectId,
      get: (id: DurableObjectId) => ({
        publish: async (request: PublishRequest) => {
          calls.push({ name: (id as unknown as { name: string }).name, request });
        },
        trigger: async () => [],
      }),
    };
    await new RealtimeBroadcaster(namespace, '1001').publish({ channels: ['private-user.a'], name: 'email.deleted', data: '{"id":"a"}' });
    expect(calls).toEqual([{ name: '1001', request: { channels: ['private-user.a'], name: 'email.deleted', data: '{"id":"a"}' } }]);
  });

  it('publishes a batch in one trigger RPC, and reports none published when the object refuses it', async () => {
    const triggered: PublishRequest[][] = [];
    let refuse = false;
    const namespace = {
      idFromName: (name: string) => ({ name }) as unknown as DurableObjectId,
      get: () => ({
        publish: async () => {},
        trigger: async (requests: PublishRequest[]) => {
          if (refuse) throw new Error('Invalid event name');
          triggered.push(requests);
          return [];
        },
      }),
    };
    const broadcaster = new RealtimeBroadcaster(namespace, '1001');
    const requests = [{ channels: ['a'], name: 'x', data: '1' }, { channels: ['b'], name: 'y', data: '2', socketId: '1.2' }];
    await broadcaster.publishBatch(requests);
    expect(triggered).toEqual([requests]);
    refuse = true;
    const error = await broadcaster.publishBatch(requests).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BatchPublishError);
    expect((error as BatchPublishError).published).toBe(0);
  });

  it('is what BROADCAST_DRIVER=realtime selects', () => {
    const testEnv = envWith({ BROADCAST_DRIVER: 'realtime' });
    expect(broadcasterFor(loadConfig(testEnv), testEnv)).toBeInstanceOf(RealtimeBroadcaster);
  });
});

describe('the log and null broadcasters', () => {
  it('log writes the event as one JSON line', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await new LogBroadcaster().publish({ channels: ['private-user.a'], name: 'email.deleted', data: '{"id":"a"}' });
      expect(JSON.parse(log.mock.calls[0]![0] as string)).toMatchObject({ msg: 'broadcast', event: 'email.deleted', channels: ['private-user.a'] });
    } finally {
      log.mockRestore();
    }
  });

  it('are what BROADCAST_DRIVER=log and =null select', () => {
    for (const [driver, type] of [['log', LogBroadcaster], ['null', NullBroadcaster]] as const) {
      const testEnv = envWith({ BROADCAST_DRIVER: driver });
      expect(broadcasterFor(loadConfig(testEnv), testEnv)).toBeInstanceOf(type);
    }
  });
});

describe('the broadcast fake', () => {
  it('records what broadcast() publishes and asserts on it', async () => {
    const fake = fakeBroadcasting();
    fake.assertNothingBroadcast();
    const email = row();
    await broadcast(env, emailModelEvents.created(email, 'Grace'));
    fake.assertBroadcast(EmailReceived);
    fake.assertBroadcast(EmailReceived, (data) => data.id === email.id && data.sender_name === 'Grace');
    fake.assertBroadcastOn(`private-user.${recipient}`, EmailReceived);
    fake.assertBroadcastTimes(EmailReceived, 1);
    fake.assertNotBroadcast(EmailDeleted);
    fake.assertNotBroadcast(EmailReceived, (data) => data.id === 'someone else');
  });

  it('fails each assertion with a message that says what was broadcast', async () => {
    const fake = new BroadcastFake();
    expect(() => fake.assertBroadcast(EmailReceived)).toThrow('Expected email.received to be broadcast, but nothing was broadcast');
    await broadcast(env, emailModelEvents.deleted(row()), { via: fake });
    expect(() => fake.assertNothingBroadcast()).toThrow(`Expected nothing to be broadcast, but broadcast were: email.deleted on private-user.${recipient}`);
    expect(() => fake.assertNotBroadcast(EmailDeleted)).toThrow('Expected email.deleted not to be broadcast, but it was broadcast 1 time(s)');
    expect(() => fake.assertBroadcastTimes(EmailDeleted, 2)).toThrow('Expected email.deleted to be broadcast 2 time(s), but it was broadcast 1 time(s)');
    expect(() => fake.assertBroadcastOn('private-user.other', EmailDeleted)).toThrow(/to be broadcast on private-user.other/);
    expect(() => fake.assertBroadcast(EmailDeleted, (data) => data.id === 'nope')).toThrow(/matching the predicate/);
  });

  it('honours toOthers with the request’s X-Socket-ID header, and ignores a malformed one', async () => {
    const fake = fakeBroadcasting();
    const email = row();
    const request = new Request('http://tidings.test/', { headers: { 'X-Socket-ID': '1234.5678' } });
    await broadcast(env, emailModelEvents.updated(email), { toOthers: request });
    fake.assertBroadcastToOthers(EmailUpdated, '1234.5678');
    await broadcast(env, emailModelEvents.deleted(email), { toOthers: new Request('http://x/', { headers: { 'X-Socket-ID': 'evil' } }) });
    expect(fake.broadcasted(EmailDeleted)[0]!.socketId).toBeUndefined();
    expect(socketIdOf(new Request('http://x/'))).toBeUndefined();
  });

  it('stops intercepting after restoreBroadcasting', async () => {
    const fake = fakeBroadcasting();
    restoreBroadcasting();
    await broadcast(envWith({ BROADCAST_DRIVER: 'null' }), emailModelEvents.deleted(row()));
    fake.assertNothingBroadcast();
  });
});
