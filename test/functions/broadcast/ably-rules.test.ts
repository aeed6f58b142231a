import { describe, expect, it } from 'vitest';
import {
  ablyChannelName,
  decodeAblySocketId,
  encodeAblySocketId,
  pusherChannelName,
  toBase64Url,
} from '../../../functions/broadcast/ably-rules.ts';
import { isSocketId } from '../../../functions/broadcast/broadcast.ts';

describe('Ably channel names', () => {
  it('maps Pusher prefixes to Ably namespaces as Laravel’s formatChannels does, and back', () => {
    const pairs = [
      ['private-user.1', 'private:user.1'],
      ['presence-inbox', 'presence:inbox'],
      ['private-encrypted-user.1', 'private:encrypted-user.1'],
      ['news', 'public:news'],
    ] as const;
    for (const [pusher, ably] of pairs) {
      expect(ablyChannelName(pusher)).toBe(ably);
      expect(pusherChannelName(ably)).toBe(pusher);
    }
    expect(pusherChannelName('user.1')).toBeNull();
  });
});

describe('Ably socket ids', () => {
  it('decodes what @ably/laravel-echo’s socketId() sends: base64url JSON with connectionKey and clientId', () => {
    const socketId = encodeAblySocketId({ connectionKey: 'abc!def-1', clientId: 'ü-user' });
    expect(socketId).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeAblySocketId(socketId)).toEqual({ connectionKey: 'abc!def-1', clientId: 'ü-user' });
    expect(decodeAblySocketId(toBase64Url('{"connectionKey":"k","clientId":null}'))).toEqual({ connectionKey: 'k', clientId: null });
    expect(isSocketId(socketId)).toBe(true);
    expect(isSocketId('123.456')).toBe(true);
  });

  it('refuses what Laravel’s decodeSocketId refuses: not base64url, not JSON, no connectionKey, no clientId key', () => {
    for (const bad of [
      'not base64!',
      toBase64Url('not json'),
      toBase64Url('{"clientId":null}'),
      toBase64Url('{"connectionKey":"k"}'),
      toBase64Url('[1]'),
    ]) {
      expect(decodeAblySocketId(bad)).toBeNull();
      expect(isSocketId(bad)).toBe(false);
    }
  });
});
