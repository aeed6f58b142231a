import { describe, expect, it } from 'vitest';
import { loadApps } from '../../../functions/realtime/apps.ts';
import { activityVerdict, newConnectionState, takeClientEvent } from '../../../functions/realtime/connection.ts';
import { channelKind, channelNameProblem, decodeClientMessage, socketIdProblem } from '../../../functions/realtime/protocol.ts';

const base = { PUSHER_APP_ID: '1001', PUSHER_APP_KEY: 'local-key', PUSHER_APP_SECRET: 'local-secret-123' };

describe('realtime apps from bindings', () => {
  it('builds the default app from PUSHER_APP_* and REALTIME_* with safe defaults', () => {
    const apps = loadApps({ ...base, REALTIME_CLIENT_EVENTS: 'true', REALTIME_WEBHOOK_URL: 'https://example.test/hooks' });
    expect(apps.byKey('local-key')).toMatchObject({
      id: '1001', enabled: true, clientEvents: true, userAuthentication: false,
      webhookUrl: 'https://example.test/hooks', maxPresenceMembers: 100, activityTimeout: 30,
    });
  });

  it('adds apps from REALTIME_APPS and finds them by id and key', () => {
    const apps = loadApps({ ...base, REALTIME_APPS: JSON.stringify([{ id: 'two', key: 'two-key', secret: 'two-secret-123', userAuthentication: true }]) });
    expect(apps.byId('two')).toMatchObject({ key: 'two-key', userAuthentication: true });
    expect(apps.byKey('nope')).toBeUndefined();
  });

  it('says what to set when something is missing or invalid', () => {
    expect(() => loadApps({ PUSHER_APP_ID: '1', PUSHER_APP_KEY: 'k' })).toThrow(
      'PUSHER_APP_SECRET is not set: run "wrangler secret put PUSHER_APP_SECRET" or add it to .dev.vars',
    );
    expect(() => loadApps({})).toThrow('No realtime app is configured: set PUSHER_APP_ID, PUSHER_APP_KEY and PUSHER_APP_SECRET (see .dev.vars.example)');
    expect(() => loadApps({ ...base, REALTIME_CLIENT_EVENTS: 'yes' })).toThrow(`REALTIME_CLIENT_EVENTS must be "true" or "false", got 'yes'`);
    expect(() => loadApps({ ...base, REALTIME_APPS: '[{' })).toThrow(/^REALTIME_APPS is not valid JSON/);
    expect(() => loadApps({ ...base, REALTIME_APPS: '[{"id":"x","key":"y"}]' })).toThrow(/^REALTIME_APPS is invalid \(0\.secret:/);
    expect(() => loadApps({ ...base, REALTIME_APPS: JSON.stringify([{ id: '1001', key: 'other', secret: 'secret-123' }]) })).toThrow(/share the id '1001'/);
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

describe('protocol validators', () => {
  it('accepts channel names of up to 164 allowed characters and quotes bad ones', () => {
    expect(channelNameProblem('private-user.1f0e=@,;_-')).toBeNull();
    expect(channelNameProblem('a'.repeat(164))).toBeNull();
    expect(channelNameProblem('a'.repeat(165))).toMatch(/^Invalid channel name: 'a{165}' \(at most 164/);
    expect(channelNameProblem('has space')).toBe("Invalid channel name: 'has space' (at most 164 of [A-Za-z0-9_\\-=@,.;])");
    expect(channelNameProblem('#server-to-user-42')).not.toBeNull();
    expect(channelNameProblem('#server-to-user-42', true)).toBeNull();
  });

  it('classifies channels by prefix, cache combinations included', () => {
    expect(channelKind('presence-cache-x')).toMatchObject({ presence: true, cache: true, authorized: true });
    expect(channelKind('private-encrypted-cache-x')).toMatchObject({ encrypted: true, cache: true, authorized: true });
    expect(channelKind('cache-x')).toMatchObject({ cache: true, authorized: false });
    expect(channelKind('news')).toMatchObject({ cache: false, authorized: false, presence: false });
  });

  it('accepts socket ids like 123.456 only', () => {
    expect(socketIdProblem('123.456')).toBeNull();
    expect(socketIdProblem('abc')).toBe("Invalid socket id: 'abc'");
    expect(socketIdProblem('1.2.3')).toBe("Invalid socket id: '1.2.3'");
  });

  it('decodes client frames or names the problem', () => {
    expect(decodeClientMessage('{"event":"pusher:ping","data":{}}')).toEqual({ event: 'pusher:ping', data: {} });
    expect(decodeClientMessage('[1]')).toBe('Invalid message: expected a JSON object with an "event" string');
    expect(decodeClientMessage('{"event":"x","channel":5}')).toBe('Invalid message: "channel" must be a string, got 5');
  });
});

describe('connection rules', () => {
  it('allows 10 client events per second, rejects more, and closes a flood of over 50', () => {
    const state = newConnectionState('1.1', 0);
    const verdicts = Array.from({ length: 51 }, () => takeClientEvent(state, 5_000));
    expect(verdicts.slice(0, 10).every((v) => v === 'send')).toBe(true);
    expect(verdicts.slice(10, 50).every((v) => v === 'reject')).toBe(true);
    expect(verdicts[50]).toBe('close');
    expect(takeClientEvent(state, 6_000)).toBe('send');
  });

  it('pings after the activity timeout and closes when the pong does not come', () => {
    const state = newConnectionState('1.1', 0);
    expect(activityVerdict(state, 0, 29_000, 30_000)).toBe('ok');
    expect(activityVerdict(state, 0, 30_000, 30_000)).toBe('ping');
    state.pingSentAt = 30_000;
    expect(activityVerdict(state, 0, 40_000, 30_000)).toBe('ok');
    expect(activityVerdict(state, 0, 60_000, 30_000)).toBe('close');
    expect(activityVerdict(state, 45_000, 60_000, 30_000)).toBe('ok');
  });
});
