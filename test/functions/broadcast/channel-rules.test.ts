import { describe, expect, it } from 'vitest';
import { ChannelRules, type ChannelUser } from '../../../functions/broadcast/channel-rules.ts';

const ada = '7b0d1c1e-5a55-4a8e-9a53-1d6b2f0c9e01';

function user(id: string, profile: { display_name: string; role: 'admin' | 'user' } | null = { display_name: 'Ada', role: 'user' }): ChannelUser & { profileReads: number } {
  const u = {
    id,
    email: 'ada@tidings.test',
    profileReads: 0,
    profile: async () => {
      u.profileReads++;
      return profile;
    },
  };
  return u;
}

describe('ChannelRules', () => {
  it('passes each {placeholder} to the rule in order, like routes/channels.php', async () => {
    const seen: string[][] = [];
    const rules = new ChannelRules().channel('team.{team}.room.{room}', (_u, ...params) => (seen.push(params), true));
    expect(await rules.authorize(user(ada), 'private-team.7.room.lobby')).toMatchObject({ allowed: true });
    expect(seen).toEqual([['7', 'lobby']]);
  });

  it('refuses a presence channel whose rule returns true instead of member info', async () => {
    const rules = new ChannelRules().channel('room', () => true);
    expect(await rules.authorize(user(ada), 'presence-room')).toEqual({
      allowed: false,
      reason: 'The rule for presence-room returned no member info, which a presence channel needs',
    });
    expect(await rules.authorize(user(ada), 'private-room')).toEqual({ allowed: true, kind: 'private' });
  });

  it('treats dots in patterns literally', async () => {
    const rules = new ChannelRules().channel('a.b', () => true);
    expect(await rules.authorize(user(ada), 'private-aXb')).toMatchObject({ allowed: false });
  });
});
