import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { md5Hex, requestSignature } from '../../../functions/realtime/signatures.ts';
import { RawClient } from '../../support/workerd/realtime-client.ts';

const appId = env.PUSHER_APP_ID;

/** Sends a request signed as the pusher SDK signs it (the signer is pinned by known answers). */
async function signed(
  method: string,
  path: string,
  options: { body?: unknown; query?: Record<string, string>; key?: string; secret?: string; timestamp?: number; md5?: string } = {},
) {
  const body = options.body === undefined ? '' : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const params: Record<string, string> = {
    ...options.query,
    auth_key: options.key ?? env.PUSHER_APP_KEY,
    auth_timestamp: String(options.timestamp ?? Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
    ...(body ? { body_md5: options.md5 ?? md5Hex(body) } : {}),
  };
  params.auth_signature = requestSignature(options.secret ?? env.PUSHER_APP_SECRET, method, path, params);
  return exports.default.fetch(`http://tidings.test${path}?${new URLSearchParams(params)}`, {
    method,
    ...(body ? { body, headers: { 'Content-Type': 'application/json' } } : {}),
  });
}

describe('POST /apps/{id}/events', () => {
  it('delivers to subscribers and answers {}', async () => {
    const client = await RawClient.connect(env.PUSHER_APP_KEY);
    await client.socketId();
    client.send({ event: 'pusher:subscribe', data: { channel: 'http-news' } });
    await client.next('pusher_internal:subscription_succeeded', 'http-news');
    const response = await signed('POST', `/apps/${appId}/events`, {
      body: { name: 'headline', data: '{"title":"hi"}', channels: ['http-news'] },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});
    expect(await client.next('headline', 'http-news')).toMatchObject({ data: { title: 'hi' } });
    client.close();
  });

  it('reports subscription_count and user_count when info is asked for', async () => {
    const response = await signed('POST', `/apps/${appId}/events`, {
      body: { name: 'x', data: '{}', channels: ['nobody-here', 'presence-empty'], info: 'subscription_count,user_count' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      channels: { 'nobody-here': { subscription_count: 0 }, 'presence-empty': { subscription_count: 0, user_count: 0 } },
    });
  });

  it('answers 401 to a bad signature, a stale timestamp or a wrong body_md5', async () => {
    const body = { name: 'x', data: '{}', channels: ['a'] };
    const wrongSecret = await signed('POST', `/apps/${appId}/events`, { body, secret: 'not-the-secret' });
    expect(wrongSecret.status).toBe(401);
    expect(await wrongSecret.json()).toEqual({ error: 'Invalid auth_signature: check the app secret' });
    expect((await signed('POST', `/apps/${appId}/events`, { body, timestamp: Math.floor(Date.now() / 1000) - 601 })).status).toBe(401);
    expect((await signed('POST', `/apps/${appId}/events`, { body, md5: md5Hex('other') })).status).toBe(401);
    expect((await exports.default.fetch(`http://tidings.test/apps/${appId}/events`, { method: 'POST', body: '{}' })).status).toBe(401);
  });

  it('publishes to an app whose one shard no socket has reached yet (a server that publishes before anyone connects)', async () => {
    // The publish-only app of vitest.config.ts: one shard, and no test connects to it.
    const publishOnly = { key: 'publish-only-key', secret: 'publish-only-secret-for-tests' };
    const body = { name: 'x', data: '{}', channels: ['nobody-yet', 'presence-nobody-yet'], info: 'subscription_count,user_count' };
    const response = await signed('POST', '/apps/publish-only/events', { body, ...publishOnly });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      channels: { 'nobody-yet': { subscription_count: 0 }, 'presence-nobody-yet': { subscription_count: 0, user_count: 0 } },
    });
    const batch = await signed('POST', '/apps/publish-only/batch_events', {
      body: { batch: [{ name: 'x', data: '{}', channel: 'later' }] },
      ...publishOnly,
    });
    expect(batch.status).toBe(200);
  });

  it('answers 404 to an unknown app', async () => {
    const response = await signed('POST', '/apps/999999/events', { body: { name: 'x', data: '{}', channels: ['a'] } });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "Unknown app id '999999'" });
  });

  it('answers 413 to data over 10 KB and 400 to more than 100 channels, bad names and bad JSON', async () => {
    const large = await signed('POST', `/apps/${appId}/events`, { body: { name: 'x', data: 'a'.repeat(10 * 1024 + 1), channels: ['a'] } });
    expect(large.status).toBe(413);
    expect(await large.json()).toEqual({ error: 'Event data too large: 10241 bytes (at most 10240)' });
    const channels = Array.from({ length: 101 }, (_, i) => `c${i}`);
    expect((await signed('POST', `/apps/${appId}/events`, { body: { name: 'x', data: '{}', channels } })).status).toBe(400);
    const badName = await signed('POST', `/apps/${appId}/events`, { body: { name: 'x', data: '{}', channels: ['bad name!'] } });
    expect(badName.status).toBe(400);
    expect(((await badName.json()) as { error: string }).error).toMatch(/^Invalid channel name: 'bad name!'/);
    const notJson = await signed('POST', `/apps/${appId}/events`, { body: '{not json' });
    expect({ status: notJson.status, body: await notJson.json() }).toEqual({
      status: 400,
      body: { error: 'The request body is not JSON' },
    });
    const notObject = await signed('POST', `/apps/${appId}/events`, { body: '[1]' });
    expect(notObject.status).toBe(400);
    expect(((await notObject.json()) as { error: string }).error).toBe(
      'Invalid request body: expected a JSON object {name, data, channels}',
    );
    expect(
      (await signed('POST', `/apps/${appId}/events`, { body: { name: 'x', data: '{}', channels: ['a'], socket_id: 'abc' } })).status,
    ).toBe(400);
  });
});

describe('POST /apps/{id}/batch_events', () => {
  it('accepts up to 10 events and refuses 11 with 400', async () => {
    const event = { name: 'x', data: '{}', channel: 'batch' };
    const ok = await signed('POST', `/apps/${appId}/batch_events`, { body: { batch: Array(10).fill(event) } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({});
    const tooMany = await signed('POST', `/apps/${appId}/batch_events`, { body: { batch: Array(11).fill(event) } });
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toEqual({ error: 'Batch too large: 11 events (at most 10)' });
  });

  it('answers each event the info it asked for, and {} to one that asked for none', async () => {
    const response = await signed('POST', `/apps/${appId}/batch_events`, {
      body: {
        batch: [
          { name: 'x', data: '{}', channel: 'presence-batch-info', info: 'user_count,subscription_count' },
          { name: 'x', data: '{}', channel: 'batch-info' },
          { name: 'x', data: '{}', channel: 'batch-info', info: 'subscription_count' },
        ],
      },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ batch: [{ user_count: 0, subscription_count: 0 }, {}, { subscription_count: 0 }] });
  });
});

describe('GET /apps/{id}/channels', () => {
  it('refuses info=user_count without a presence- prefix', async () => {
    expect((await signed('GET', `/apps/${appId}/channels`, { query: { info: 'user_count' } })).status).toBe(400);
    const ok = await signed('GET', `/apps/${appId}/channels`, { query: { info: 'user_count', filter_by_prefix: 'presence-' } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toHaveProperty('channels');
  });

  it('answers 400 for users of a non-presence channel and user_count of one', async () => {
    expect((await signed('GET', `/apps/${appId}/channels/news/users`)).status).toBe(400);
    expect((await signed('GET', `/apps/${appId}/channels/news`, { query: { info: 'user_count' } })).status).toBe(400);
    const info = await signed('GET', `/apps/${appId}/channels/news`, { query: { info: 'subscription_count' } });
    expect(await info.json()).toEqual({ occupied: false, subscription_count: 0 });
  });

  it('answers 404 with JSON for an unknown API path', async () => {
    const response = await signed('GET', `/apps/${appId}/nothing`);
    expect(response.status).toBe(404);
  });
});

describe('a disabled app', () => {
  it('answers its HTTP API with 403', async () => {
    const params: Record<string, string> = {
      auth_key: 'disabled-key',
      auth_timestamp: String(Math.floor(Date.now() / 1000)),
      auth_version: '1.0',
      body_md5: md5Hex('{}'),
    };
    params.auth_signature = requestSignature('disabled-secret-for-tests', 'POST', '/apps/disabled/events', params);
    const response = await exports.default.fetch(`http://tidings.test/apps/disabled/events?${new URLSearchParams(params)}`, {
      method: 'POST',
      body: '{}',
    });
    expect(response.status).toBe(403);
  });
});

describe('an oversized body', () => {
  it('gets 413 while it streams, before the signature is checked and without reading it whole', async () => {
    let pulled = 0;
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    // 100 MB, chunked (no Content-Length), unsigned: the limit must answer first.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += chunk.byteLength;
        if (pulled > 100 * 1024 * 1024) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const response = await exports.default.fetch(`http://tidings.test/apps/${appId}/events`, {
      method: 'POST',
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: 'The request body is over 256 KB' });
    expect(pulled).toBeLessThan(2 * 1024 * 1024);
  });
});
