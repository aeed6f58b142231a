import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { broadcasterFor } from '../../../../functions/broadcast/broadcast.ts';
import { BatchPublishError, type PublishRequest } from '../../../../functions/broadcast/broadcaster.ts';
import { PusherBroadcaster, pusherClient } from '../../../../functions/broadcast/drivers/pusher.ts';
import { loadConfig } from '../../../../functions/config.ts';
import { envWith } from '../../../support/workerd/env.ts';
import { acceptedByPusherStub, pusherStubVars } from '../../../support/workerd/pusher-api-stub.ts';

function pusherEnv(overrides: Partial<Record<keyof Env, string>> = {}): Env {
  return envWith({ ...pusherStubVars, ...overrides });
}

describe('the pusher broadcaster', () => {
  it('publishes a signed event that a Pusher HTTP API accepts, excluding the sender’s socket', async () => {
    const channel = `private-user.${crypto.randomUUID()}`;
    const testEnv = pusherEnv();
    const broadcaster = broadcasterFor(loadConfig(testEnv), testEnv);
    expect(broadcaster).toBeInstanceOf(PusherBroadcaster);
    await broadcaster.publish({ channels: [channel], name: 'email.updated', data: '{"id":"x"}', socketId: '123.456' });
    const request = (await acceptedByPusherStub()).find((r) => r.body.includes(channel));
    expect(request).toMatchObject({ method: 'POST', path: `/apps/${env.PUSHER_APP_ID}/events` });
    expect(JSON.parse(request!.body)).toEqual({ name: 'email.updated', data: '{"id":"x"}', channels: [channel], socket_id: '123.456' });
  });

  it('splits more than 100 channels into several signed requests', async () => {
    const tag = crypto.randomUUID();
    const channels = Array.from({ length: 150 }, (_, i) => `fanout-${tag}-${i}`);
    await new PusherBroadcaster(pusherClient(loadConfig(pusherEnv()))).publish({ channels, name: 'tick', data: '{}' });
    const requests = (await acceptedByPusherStub()).filter((r) => r.body.includes(tag));
    expect(requests.map((r) => JSON.parse(r.body).channels.length)).toEqual([100, 50]);
  });

  it('sends an end-to-end encrypted channel in a request of its own, its data encrypted, and the other channels together in plain', async () => {
    const tag = crypto.randomUUID();
    const masterKey = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    const channels = [`news-${tag}`, `private-encrypted-user.${tag}`, `sports-${tag}`];
    await new PusherBroadcaster(pusherClient(loadConfig(pusherEnv({ PUSHER_ENCRYPTION_MASTER_KEY_BASE64: masterKey })))).publish({
      channels,
      name: 'tick',
      data: '{"secret":"only for the user"}',
    });
    const sent = (await acceptedByPusherStub()).filter((r) => r.body.includes(tag)).map((r) => JSON.parse(r.body));
    expect(sent.map((body) => body.channels)).toEqual([[`news-${tag}`, `sports-${tag}`], [`private-encrypted-user.${tag}`]]);
    expect(sent[0].data).toBe('{"secret":"only for the user"}');
    expect(Object.keys(JSON.parse(sent[1].data)).sort()).toEqual(['ciphertext', 'nonce']);
    expect(sent[1].data).not.toContain('only for the user');
  });

  it('publishes a batch ten events per signed batch_events request, one channel each, in order', async () => {
    const tag = crypto.randomUUID();
    const requests: PublishRequest[] = Array.from({ length: 12 }, (_, i) => ({
      channels: [`batch-${tag}-${i}`],
      name: 'email.received',
      data: `{"n":${i}}`,
    }));
    requests.push({ channels: [`batch-${tag}-a`, `batch-${tag}-b`], name: 'tick', data: '{}', socketId: '123.456' });
    await new PusherBroadcaster(pusherClient(loadConfig(pusherEnv()))).publishBatch(requests);
    const batches = (await acceptedByPusherStub()).filter((r) => r.body.includes(tag));
    expect(batches.every((r) => r.path === `/apps/${env.PUSHER_APP_ID}/batch_events`)).toBe(true);
    const sent = batches.map((r) => (JSON.parse(r.body) as { batch: Array<{ channel: string; data: string; socket_id?: string }> }).batch);
    expect(sent.map((batch) => batch.length)).toEqual([10, 4]);
    expect(sent.flat().map((event) => event.channel)).toEqual([
      ...Array.from({ length: 12 }, (_, i) => `batch-${tag}-${i}`),
      `batch-${tag}-a`,
      `batch-${tag}-b`,
    ]);
    expect(sent.flat().at(-1)).toMatchObject({ name: 'tick', socket_id: '123.456' });
  });

  it('says how many of a batch went out when Pusher refuses a later part of it', async () => {
    const tag = crypto.randomUUID();
    const requests: PublishRequest[] = Array.from({ length: 12 }, (_, i) => ({
      channels: [`refused-${tag}-${i}`],
      name: 'tick',
      data: i === 11 ? `"${'x'.repeat(10_300)}"` : '{}',
    }));
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
