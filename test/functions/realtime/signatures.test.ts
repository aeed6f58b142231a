import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  channelAuth,
  constantTimeEqual,
  md5Hex,
  requestSignature,
  userAuth,
  webhookSignature,
} from '../../../functions/realtime/signatures.ts';

// The published known answer (Pusher's HTTP API reference, "Generating authentication signatures").
const key = '278d425bdf160c739803';
const secret = '7ad3773142a6692b25b8';
const body = '{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}';

describe('HTTP API request signature', () => {
  it('matches the published body_md5 and auth_signature for POST /apps/3/events', () => {
    const bodyMd5 = md5Hex(body);
    expect(bodyMd5).toBe('ec365a775a4cd0599faeb73354201b6f');
    const signature = requestSignature(secret, 'POST', '/apps/3/events', {
      auth_key: key,
      auth_timestamp: '1353088179',
      auth_version: '1.0',
      body_md5: bodyMd5,
    });
    expect(signature).toBe('da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c');
  });

  it('ignores auth_signature itself and sorts lower-cased keys', () => {
    const a = requestSignature(secret, 'get', '/apps/3/channels', { B: '2', a: '1', auth_signature: 'x' });
    const b = requestSignature(secret, 'GET', '/apps/3/channels', { a: '1', b: '2' });
    expect(a).toBe(b);
  });
});

describe('channel and user auth', () => {
  it('signs socket_id:channel for private channels as key:hex', () => {
    // Pusher's documented private-channel example.
    expect(channelAuth(key, secret, '1234.1234', 'private-foobar')).toBe(
      '278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4',
    );
  });

  it('signs socket_id:channel:channel_data for presence channels', () => {
    const channelData = '{"user_id":10,"user_info":{"name":"Mr. Channels"}}';
    expect(channelAuth(key, secret, '1234.1234', 'presence-foobar', channelData)).toBe(
      '278d425bdf160c739803:31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80',
    );
  });

  it('signs socket_id::user::user_data for signin', () => {
    const userData = '{"id":"12345"}';
    const expected = createHmac('sha256', secret).update(`1234.1234::user::${userData}`).digest('hex');
    expect(userAuth(key, secret, '1234.1234', userData)).toBe(`${key}:${expected}`);
  });

  it('signs webhook bodies with hex HMAC of the body', () => {
    expect(webhookSignature(secret, body)).toBe(createHmac('sha256', secret).update(body).digest('hex'));
  });
});

describe('constantTimeEqual', () => {
  it('is true only for identical strings, whatever their lengths', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});
