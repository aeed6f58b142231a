import { describe, expect, it } from 'vitest';
import { checkEventLimits, checkSignedRequest, signPusherRequest } from '../support/node/pusher-api-stub.ts';

// The stub stands in for hosted Pusher in the workerd tests, so it must check signatures exactly
// as Pusher publishes them. Known answer from Pusher's HTTP API reference (the "Authentication" signature example).
const app = { key: '278d425bdf160c739803', secret: '7ad3773142a6692b25b8' };
const body = '{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}';
const query = {
  auth_key: app.key,
  auth_timestamp: '1353088179',
  auth_version: '1.0',
  body_md5: 'ec365a775a4cd0599faeb73354201b6f',
};
const signature = 'da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c';

describe('the Pusher HTTP API stub', () => {
  it('computes the published signature for POST /apps/3/events', () => {
    expect(signPusherRequest(app.secret, 'POST', '/apps/3/events', query)).toBe(signature);
  });

  it('accepts the published request at its own timestamp', () => {
    const result = checkSignedRequest(app, 'POST', '/apps/3/events', { ...query, auth_signature: signature }, body, 1353088179);
    expect(result).toBeNull();
  });

  it('refuses a tampered body, a wrong signature and a stale timestamp', () => {
    const signed = { ...query, auth_signature: signature };
    expect(checkSignedRequest(app, 'POST', '/apps/3/events', signed, body.replace('foo', 'bar'), 1353088179)).toBe('body_md5 mismatch');
    expect(checkSignedRequest(app, 'POST', '/apps/3/events', { ...signed, auth_signature: '0'.repeat(64) }, body, 1353088179)).toBe(
      'invalid auth_signature',
    );
    expect(checkSignedRequest(app, 'POST', '/apps/3/events', signed, body, 1353088179 + 601)).toBe('stale auth_timestamp');
  });

  it('enforces Pusher’s published limits: 10 events per batch, one channel each, 10 KB of data per event', () => {
    const event = (data = '{}') => ({ channel: 'news', name: 'tick', data });
    expect(checkEventLimits('/apps/3/batch_events', JSON.stringify({ batch: Array.from({ length: 10 }, () => event()) }))).toBeNull();
    expect(checkEventLimits('/apps/3/batch_events', JSON.stringify({ batch: Array.from({ length: 11 }, () => event()) }))).toEqual({
      status: 400,
      problem: 'Batch too large: 11 events (at most 10)',
    });
    expect(
      checkEventLimits('/apps/3/batch_events', JSON.stringify({ batch: [{ channels: ['a', 'b'], name: 'tick', data: '{}' }] }))?.status,
    ).toBe(400);
    expect(checkEventLimits('/apps/3/batch_events', JSON.stringify({ batch: [event('x'.repeat(10_241))] }))?.status).toBe(413);
    expect(checkEventLimits('/apps/3/events', JSON.stringify({ name: 'tick', channels: ['news'], data: 'x'.repeat(10_240) }))).toBeNull();
    expect(checkEventLimits('/apps/3/events', JSON.stringify({ name: 'tick', channels: ['news'], data: 'x'.repeat(10_241) }))?.status).toBe(
      413,
    );
  });
});
