import { describe, expect, it } from 'vitest';
import { encodeAblySocketId } from '../../../../functions/broadcast/ably-rules.ts';
import { broadcast, broadcasterFor } from '../../../../functions/broadcast/broadcast.ts';
import { BatchPublishError, BroadcastRefused, type PublishRequest } from '../../../../functions/broadcast/broadcaster.ts';
import { AblyBroadcaster, ablyRest } from '../../../../functions/broadcast/drivers/ably.ts';
import { EmailDeleted } from '../../../../functions/broadcast/events.ts';
import { loadConfig } from '../../../../functions/config.ts';
import { TEST_ABLY_KEY } from '../../../support/ably-key.ts';
import { type AcceptedAblyRequest, ablyStubVars, acceptedByAblyStub, openAblyConnection } from '../../../support/workerd/ably-rest-stub.ts';
import { envWith } from '../../../support/workerd/env.ts';

function ablyEnv(overrides: Partial<Record<keyof Env, string>> = {}): Env {
  return envWith({ ...ablyStubVars, ...overrides });
}

function ably(overrides: Partial<Record<keyof Env, string>> = {}): AblyBroadcaster {
  return new AblyBroadcaster(ablyRest(loadConfig(ablyEnv(overrides))));
}

async function acceptedWith(tag: string): Promise<AcceptedAblyRequest[]> {
  return (await acceptedByAblyStub()).filter((request) => JSON.stringify(request.body).includes(tag) || request.path.includes(tag));
}

describe('the ably broadcaster', () => {
  it('publishes to POST /channels/{channel}/messages with Basic auth and the JSON data with the encoding json, as ably-js does', async () => {
    const testEnv = ablyEnv();
    const broadcaster = broadcasterFor(loadConfig(testEnv), testEnv);
    expect(broadcaster).toBeInstanceOf(AblyBroadcaster);
    const user = crypto.randomUUID();
    await broadcaster.publish({ channels: [`private-user.${user}`], name: 'email.updated', data: `{"id":"${user}"}` });
    const [request] = await acceptedWith(user);
    expect(request).toMatchObject({
      method: 'POST',
      path: `/channels/private%3Auser.${user}/messages`,
      headers: { authorization: `Basic ${btoa(TEST_ABLY_KEY)}`, contentType: 'application/json', ablyVersion: '6' },
    });
    expect(request!.body).toEqual({ name: 'email.updated', data: `{"id":"${user}"}`, encoding: 'json' });
  });

  it('maps Pusher channel names to Ably’s namespaces: private:, presence: and public:', async () => {
    const tag = crypto.randomUUID();
    await ably().publish({ channels: [`presence-inbox-${tag}`], name: 'tick', data: '{}' });
    await ably().publish({ channels: [`news-${tag}`], name: 'tick', data: '{}' });
    expect((await acceptedWith(tag)).map((r) => r.messages[0]!.channel)).toEqual([`presence:inbox-${tag}`, `public:news-${tag}`]);
  });

  it('publishes on behalf of the sender’s connection with toOthers, from @ably/laravel-echo’s socket id', async () => {
    const user = crypto.randomUUID();
    const connection = await openAblyConnection(user);
    const socketId = encodeAblySocketId({ connectionKey: connection.connectionKey, clientId: user });
    const request = new Request('http://tidings.test/', { headers: { 'X-Socket-ID': socketId } });
    await broadcast(ablyEnv(), EmailDeleted.to({ recipient_id: user }, { id: user }), { toOthers: request });
    const [accepted] = await acceptedWith(user);
    expect(accepted!.body).toMatchObject({ connectionKey: connection.connectionKey, clientId: user });
    // Ably attributes the message to that connection, which (echoMessages: false) does not receive it.
    expect(accepted!.messages[0]).toMatchObject({ channel: `private:user.${user}`, connectionId: connection.connectionId });
  });

  it('leaves out a socket id of pusher-js’s kind, which names no Ably connection', async () => {
    const tag = crypto.randomUUID();
    await ably().publish({ channels: [`news-${tag}`], name: 'tick', data: '{}', socketId: '123.456' });
    const [accepted] = await acceptedWith(tag);
    expect(accepted!.body).toEqual({ name: 'tick', data: '{}', encoding: 'json' });
  });

  it('publishes an event on several channels in one batch request, one spec per channel', async () => {
    const tag = crypto.randomUUID();
    await ably().publish({ channels: [`a-${tag}`, `private-b-${tag}`, `a-${tag}`], name: 'tick', data: '{"n":1}' });
    const requests = await acceptedWith(tag);
    expect(requests.map((r) => r.path)).toEqual(['/messages']);
    expect(requests[0]!.body).toEqual([
      { channels: [`public:a-${tag}`], messages: [{ name: 'tick', data: '{"n":1}', encoding: 'json' }] },
      { channels: [`private:b-${tag}`], messages: [{ name: 'tick', data: '{"n":1}', encoding: 'json' }] },
    ]);
  });

  it('batch publishes at most 100 channels per request, each channel’s messages in order in one spec', async () => {
    const tag = crypto.randomUUID();
    const requests: PublishRequest[] = Array.from({ length: 150 }, (_, i) => ({
      channels: [`b-${tag}-${i}`],
      name: 'tick',
      data: `{"n":${i}}`,
    }));
    requests.push({ channels: [`b-${tag}-0`], name: 'tock', data: '{"n":"again"}' });
    await ably().publishBatch(requests);
    const sent = await acceptedWith(tag);
    expect(sent.map((r) => [r.path, (r.body as unknown[]).length])).toEqual([
      ['/messages', 100],
      ['/messages', 50],
    ]);
    expect((sent[0]!.body as Array<{ channels: string[]; messages: Array<{ name: string }> }>)[0]).toEqual({
      channels: [`public:b-${tag}-0`],
      messages: [
        { name: 'tick', data: '{"n":0}', encoding: 'json' },
        { name: 'tock', data: '{"n":"again"}', encoding: 'json' },
      ],
    });
  });

  it('says how many of a batch went out when Ably fails a channel with a 5xx, which may pass later', async () => {
    const tag = crypto.randomUUID();
    const requests: PublishRequest[] = [
      { channels: [`ok-${tag}-1`], name: 'tick', data: '{}' },
      { channels: [`ok-${tag}-2`, `stub-unavailable-${tag}`], name: 'tick', data: '{}' },
      { channels: [`ok-${tag}-3`], name: 'tick', data: '{}' },
    ];
    const error = await ably()
      .publishBatch(requests)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BatchPublishError);
    expect((error as BatchPublishError).published).toBe(1);
    const cause = (error as BatchPublishError).cause as BroadcastRefused;
    expect(cause).toBeInstanceOf(BroadcastRefused);
    expect(cause.status).toBe(503);
    expect(cause.retryable).toBe(true);
    expect(cause.message).toBe(
      `Ably refused a batch of 4 messages on 4 channels on public:stub-unavailable-${tag}: 503 (50003) Channel public:stub-unavailable-${tag} is unavailable`,
    );
  });

  it('fails with Ably’s 401 and error code for a wrong key, retryable (the key gets fixed) and without the secret', async () => {
    const error = await ably({ ABLY_KEY: 'tidingsTest.stubKey:a-wrong-secret-value' })
      .publish({ channels: ['news'], name: 'tick', data: '{}' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BroadcastRefused);
    expect((error as BroadcastRefused).message).toBe('Ably refused tick on public:news: 401 (40101) Invalid credentials');
    expect((error as BroadcastRefused).retryable).toBe(true);
    expect((error as Error).message).not.toContain('a-wrong-secret-value');
  });

  it('refuses an event over Ably’s 64 KiB message limit, or with data that is not JSON, before sending it', async () => {
    const tag = crypto.randomUUID();
    const tooLarge = ably().publish({ channels: [`big-${tag}`], name: 'tick', data: `"${'x'.repeat(65_536)}"` });
    await expect(tooLarge).rejects.toMatchObject({ status: 413, message: 'Event too large for Ably: 65542 bytes (at most 65536)' });
    const batch = await ably()
      .publishBatch([
        { channels: [`fine-${tag}`], name: 'tick', data: '{}' },
        { channels: [`fine-${tag}`], name: 'tick', data: 'not json' },
      ])
      .catch((e: unknown) => e);
    // The event before the bad one goes out; the bad one is named by the count.
    expect((batch as BatchPublishError).published).toBe(1);
    expect((batch as BatchPublishError).cause).toMatchObject({ status: 400, message: "Invalid data for event 'tick': expected JSON text" });
    expect(await acceptedWith(tag)).toHaveLength(1);
  });

  it('reports an unreachable Ably with no status, as worth retrying', async () => {
    const error = await ably({ ABLY_PORT: '9' })
      .publish({ channels: ['news'], name: 'tick', data: '{}' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BroadcastRefused);
    expect((error as BroadcastRefused).status).toBeNull();
    expect((error as BroadcastRefused).retryable).toBe(true);
    expect((error as Error).message).toMatch(/^Ably could not be reached at 127\.0\.0\.1: /);
  });
});
