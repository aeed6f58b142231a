import { describe, expect, it } from 'vitest';
import { mailboxChannels as channels } from '../../../functions/broadcast/mailbox-channels.ts';
import { seedUsers } from '../../support/seed-users.ts';
import { channelUser as user } from '../../support/workerd/auth.ts';

const ada = seedUsers.ada.id;
const grace = seedUsers.grace.id;

describe('Tidings channel rules', () => {
  it('lets a user into their own private-user channel', async () => {
    expect(await channels.authorize(user(ada), `private-user.${ada}`)).toEqual({ allowed: true, kind: 'private' });
  });

  it('refuses another user’s private-user channel, with a reason', async () => {
    expect(await channels.authorize(user(ada), `private-user.${grace}`)).toEqual({
      allowed: false,
      reason: `You may not join private-user.${grace}`,
    });
  });

  it('applies the same rule to the encrypted variant', async () => {
    expect(await channels.authorize(user(ada), `private-encrypted-user.${ada}`)).toEqual({ allowed: true, kind: 'encrypted' });
    expect(await channels.authorize(user(ada), `private-encrypted-user.${grace}`)).toMatchObject({ allowed: false });
  });

  it('lets an admin into presence-admins with only their name and role', async () => {
    expect(await channels.authorize(user(ada, { display_name: 'Ada Lovelace', role: 'admin' }), 'presence-admins')).toEqual({
      allowed: true,
      kind: 'presence',
      memberInfo: { name: 'Ada Lovelace', role: 'admin' },
    });
  });

  it('keeps users out of presence-admins, so any number of them can be online', async () => {
    expect(await channels.authorize(user(ada, { display_name: 'Ada', role: 'user' }), 'presence-admins')).toEqual({
      allowed: false,
      reason: 'You may not join presence-admins',
    });
    expect(await channels.authorize(user(ada, null), 'presence-admins')).toEqual({
      allowed: false,
      reason: 'You may not join presence-admins',
    });
    expect(await channels.authorize(user(ada), 'presence-inbox')).toEqual({ allowed: false, reason: 'No rule allows presence-inbox' });
  });

  it('reads the profile only for rules that need it', async () => {
    const u = user(ada);
    await channels.authorize(u, `private-user.${ada}`);
    expect(u.profileReads).toBe(0);
  });

  it('refuses channels no rule covers, public channels and malformed names', async () => {
    expect(await channels.authorize(user(ada), 'private-admin')).toEqual({ allowed: false, reason: 'No rule allows private-admin' });
    expect(await channels.authorize(user(ada), 'private-user.a.b')).toEqual({ allowed: false, reason: 'No rule allows private-user.a.b' });
    expect(await channels.authorize(user(ada), 'news')).toEqual({
      allowed: false,
      reason: 'news is a public channel: it needs no authorization',
    });
    expect(await channels.authorize(user(ada), 'private-user.<script>')).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/^Invalid channel name: 'private-user.<script>'/),
    });
  });

  it('opens each channel only under the prefixes its rule names', async () => {
    const admin = user(ada, { display_name: 'Ada Lovelace', role: 'admin' });
    for (const name of ['private-admins', 'private-cache-admins', 'private-encrypted-admins', 'presence-cache-admins']) {
      expect(await channels.authorize(admin, name)).toEqual({ allowed: false, reason: `No rule allows ${name}` });
    }
    for (const name of [`presence-user.${ada}`, `private-cache-user.${ada}`]) {
      expect(await channels.authorize(admin, name)).toEqual({ allowed: false, reason: `No rule allows ${name}` });
    }
    expect(await channels.authorize(admin, `private-encrypted-user.${ada}`)).toEqual({ allowed: true, kind: 'encrypted' });
  });

  it('lets any signed-in user into private-announcements, without reading a profile, and under no other prefix', async () => {
    const u = user(ada);
    expect(await channels.authorize(u, 'private-announcements')).toEqual({ allowed: true, kind: 'private' });
    expect(u.profileReads).toBe(0);
    for (const name of ['presence-announcements', 'private-encrypted-announcements', 'private-cache-announcements']) {
      expect(await channels.authorize(u, name)).toEqual({ allowed: false, reason: `No rule allows ${name}` });
    }
  });
});
