import { describe, expect, it } from 'vitest';
import { ChannelRules } from '../../../functions/broadcast/channel-rules.ts';
import { seedUsers } from '../../support/seed-users.ts';
import { channelUser as user } from '../../support/workerd/auth.ts';

const ada = seedUsers.ada.id;

describe('ChannelRules', () => {
  it('passes each {placeholder} to the rule in order, like routes/channels.php', async () => {
    const seen: string[][] = [];
    const rules = new ChannelRules().channel('team.{team}.room.{room}', ['private'], (_u, ...params) => {
      seen.push(params);
      return true;
    });
    expect(await rules.authorize(user(ada), 'private-team.7.room.lobby')).toMatchObject({ allowed: true });
    expect(seen).toEqual([['7', 'lobby']]);
  });

  it('refuses a presence channel whose rule returns true instead of member info', async () => {
    const rules = new ChannelRules().channel('room', ['private', 'presence'], () => true);
    expect(await rules.authorize(user(ada), 'presence-room')).toEqual({
      allowed: false,
      reason: 'The rule for presence-room returned no member info, which a presence channel needs',
    });
    expect(await rules.authorize(user(ada), 'private-room')).toEqual({ allowed: true, kind: 'private' });
  });

  it('treats dots in patterns literally', async () => {
    const rules = new ChannelRules().channel('a.b', ['private'], () => true);
    expect(await rules.authorize(user(ada), 'private-aXb')).toMatchObject({ allowed: false });
  });

  it('applies a rule only to the prefixes it names', async () => {
    const rules = new ChannelRules().channel('inbox', ['presence'], () => ({ name: 'Ada' }));
    expect(await rules.authorize(user(ada), 'presence-inbox')).toMatchObject({ allowed: true, kind: 'presence' });
    for (const other of ['private-inbox', 'private-cache-inbox', 'private-encrypted-inbox', 'presence-cache-inbox']) {
      expect(await rules.authorize(user(ada), other)).toEqual({ allowed: false, reason: `No rule allows ${other}` });
    }
  });
});
