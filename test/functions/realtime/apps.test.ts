import { describe, expect, it } from 'vitest';
import { loadApps } from '../../../functions/realtime/apps.ts';

const base = { PUSHER_APP_ID: '1001', PUSHER_APP_KEY: 'local-key', PUSHER_APP_SECRET: 'local-secret-123' };

describe('realtime apps from bindings', () => {
  it('builds the default app from PUSHER_APP_* and REALTIME_* with safe defaults', () => {
    const apps = loadApps({ ...base, REALTIME_CLIENT_EVENTS: 'true', REALTIME_WEBHOOK_URL: 'https://example.test/hooks' });
    expect(apps.byKey('local-key')).toMatchObject({
      id: '1001',
      enabled: true,
      clientEvents: true,
      userAuthentication: false,
      webhookUrl: 'https://example.test/hooks',
      maxPresenceMembers: 100,
      activityTimeout: 30,
    });
  });

  it('adds apps from REALTIME_APPS and finds them by id and key', () => {
    const apps = loadApps({
      ...base,
      REALTIME_APPS: JSON.stringify([{ id: 'two', key: 'two-key', secret: 'two-secret-123', userAuthentication: true }]),
    });
    expect(apps.byId('two')).toMatchObject({ key: 'two-key', userAuthentication: true });
    expect(apps.byKey('nope')).toBeUndefined();
  });

  it('spreads every app over REALTIME_SHARDS connection shards unless the app sets its own', () => {
    expect(loadApps(base).byId('1001')!.shards).toBe(1);
    const apps = loadApps({
      ...base,
      REALTIME_SHARDS: '16',
      REALTIME_APPS: JSON.stringify([
        { id: 'two', key: 'two-key', secret: 'two-secret-123', shards: 4 },
        { id: 'three', key: 'k3', secret: 'three-secret' },
      ]),
    });
    expect(apps.all.map((app) => [app.id, app.shards])).toEqual([
      ['1001', 16],
      ['two', 4],
      ['three', 16],
    ]);
    expect(() => loadApps({ ...base, REALTIME_SHARDS: '0' })).toThrow('REALTIME_SHARDS is invalid ("0"): use a whole number from 1 to 256');
    expect(() => loadApps({ ...base, REALTIME_MAX_CONNECTIONS: '50000' })).toThrow(
      "App '1001' allows 50000 connections, more than 1 shard(s) can hold (32768 WebSockets per Durable Object): raise REALTIME_SHARDS or lower REALTIME_MAX_CONNECTIONS",
    );
    expect(loadApps({ ...base, REALTIME_MAX_CONNECTIONS: '50000', REALTIME_SHARDS: '2' }).byId('1001')!.maxConnections).toBe(50_000);
    expect(() => loadApps({ ...base, REALTIME_SHARDS: 'many' })).toThrow(
      'REALTIME_SHARDS is invalid ("many"): use a whole number from 1 to 256',
    );
  });

  it('says what to set when something is missing or invalid', () => {
    expect(() => loadApps({ PUSHER_APP_ID: '1', PUSHER_APP_KEY: 'k' })).toThrow(
      'PUSHER_APP_SECRET is not set: run "wrangler secret put PUSHER_APP_SECRET" or add it to .dev.vars',
    );
    expect(() => loadApps({})).toThrow(
      'No realtime app is configured: set PUSHER_APP_ID, PUSHER_APP_KEY and PUSHER_APP_SECRET (see .dev.vars.example)',
    );
    expect(() => loadApps({ ...base, REALTIME_CLIENT_EVENTS: 'yes' })).toThrow(
      `REALTIME_CLIENT_EVENTS must be "true" or "false", got 'yes'`,
    );
    expect(() => loadApps({ ...base, REALTIME_APPS: '[{' })).toThrow(/^REALTIME_APPS is not valid JSON/);
    expect(() => loadApps({ ...base, REALTIME_APPS: '[{"id":"x","key":"y"}]' })).toThrow(/^REALTIME_APPS is invalid \(0\.secret:/);
    expect(() => loadApps({ ...base, REALTIME_APPS: JSON.stringify([{ id: '1001', key: 'other', secret: 'secret-123' }]) })).toThrow(
      /share the id '1001'/,
    );
  });

  it('never puts a secret value in an error message', () => {
    try {
      loadApps({ ...base, PUSHER_APP_SECRET: 'short' });
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain("'short'");
      expect(String(error)).toMatch(/secret: a secret of at least 8 characters/);
    }
  });
});
