import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { authEnv, call } from '../../support/workerd/auth.ts';

describe('GET /api/config', () => {
  it('tells the web client where to connect, with public values only', async () => {
    const response = await call('/api/config', {}, authEnv({ BROADCAST_DRIVER: 'realtime' }));
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toEqual({
      pusher: { key: 'tidings-local-key', wsHost: 'tidings.test', wsPort: 80, forceTLS: false, cluster: 'mt1' },
      supabase: { url: `http://127.0.0.1:${env.SUPABASE_AUTH_STUB_PORT}`, anonKey: env.SUPABASE_ANON_KEY },
      devUsers: expect.arrayContaining([expect.objectContaining({ role: 'admin' })]),
    });
    const text = JSON.stringify(body);
    for (const secret of [env.PUSHER_APP_SECRET, env.SUPABASE_SERVICE_ROLE_KEY, env.SUPABASE_JWT_SECRET, env.DB_WEBHOOK_SECRET]) {
      expect(text).not.toContain(secret);
    }
  });

  it('points at the Worker itself over TLS when served over https', async () => {
    const response = await Promise.resolve(
      (await import('../../../functions/index.ts')).app.request('https://tidings.example.com/api/config', {}, authEnv()),
    );
    expect(((await response.json()) as { pusher: unknown }).pusher).toMatchObject({
      wsHost: 'tidings.example.com',
      wsPort: 443,
      forceTLS: true,
    });
  });

  it('points at the configured Pusher-compatible host, or hosted Pusher’s cluster, for the pusher broadcaster', async () => {
    let response = await call(
      '/api/config',
      {},
      authEnv({ BROADCAST_DRIVER: 'pusher', PUSHER_HOST: 'ws.example.com', PUSHER_PORT: '6001', PUSHER_SCHEME: 'https' }),
    );
    expect(((await response.json()) as { pusher: unknown }).pusher).toMatchObject({
      wsHost: 'ws.example.com',
      wsPort: 6001,
      forceTLS: true,
    });
    response = await call('/api/config', {}, authEnv({ BROADCAST_DRIVER: 'pusher', PUSHER_HOST: '', PUSHER_APP_CLUSTER: 'eu' }));
    expect(((await response.json()) as { pusher: unknown }).pusher).toMatchObject({
      wsHost: 'ws-eu.pusher.com',
      wsPort: 443,
      forceTLS: true,
      cluster: 'eu',
    });
  });

  it('says where ably-js connects for the ably broadcaster, without the key', async () => {
    const response = await call(
      '/api/config',
      {},
      authEnv({ BROADCAST_DRIVER: 'ably', ABLY_KEY: 'appId.keyId:the-ably-secret', ABLY_HOST: '', ABLY_PORT: '', ABLY_SCHEME: '' }),
    );
    const text = await response.text();
    expect(JSON.parse(text).ably).toEqual({ host: 'main.realtime.ably.net', port: 443, tls: true });
    expect(text).not.toContain('the-ably-secret');
    const realtime = (await (await call('/api/config', {}, authEnv({ BROADCAST_DRIVER: 'realtime' }))).json()) as Record<string, unknown>;
    expect(realtime).not.toHaveProperty('ably');
  });

  it('leaves out the development logins outside development', async () => {
    const body = (await (await call('/api/config', {}, authEnv({ APP_ENV: 'production' }))).json()) as Record<string, unknown>;
    expect(body).not.toHaveProperty('devUsers');
  });
});
