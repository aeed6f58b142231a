import { describe, expect, it } from 'vitest';
import { channelKind, channelNameProblem, socketIdProblem } from '../../../functions/broadcast/pusher-rules.ts';

describe('Pusher rules', () => {
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
});
