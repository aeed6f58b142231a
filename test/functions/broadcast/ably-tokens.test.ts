import { decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { type AblyAuthorization, authorizeAbly } from '../../../functions/broadcast/ably-tokens.ts';
import { mailboxChannels } from '../../../functions/broadcast/mailbox-channels.ts';
import { seedUsers } from '../../support/seed-users.ts';
import { channelUser } from '../../support/workerd/auth.ts';

const settings = { key: { name: 'appId.keyId', secret: 'the-ably-key-secret' }, tokenTtlSeconds: 28_800 };
const ada = seedUsers.ada.id;
const grace = seedUsers.grace.id;
const admin = channelUser(seedUsers.admin.id, { display_name: 'Tidings Admin', role: 'admin' });
const user = channelUser(ada);

/** The verified claims of a token, checked with the key secret as Ably checks it. */
async function claims(result: AblyAuthorization) {
  if (!('token' in result)) throw new Error(`refused: ${result.reason}`);
  expect(decodeProtectedHeader(result.token)).toEqual({ typ: 'JWT', alg: 'HS256', kid: 'appId.keyId' });
  const { payload } = await jwtVerify(result.token, new TextEncoder().encode(settings.key.secret), {
    algorithms: ['HS256'],
    // As of the token's issue time: the tests sign some at fixed times.
    currentDate: new Date(Number(decodeJwt(result.token).iat) * 1000),
  });
  return {
    ...payload,
    clientId: payload['x-ably-clientId'],
    capability: JSON.parse(String(payload['x-ably-capability'])) as Record<string, string[]>,
  };
}

describe('Ably tokens for /broadcasting/auth', () => {
  it('signs the connection’s first token: the user as clientId, public channels only, for ABLY_TOKEN_EXPIRY seconds', async () => {
    const token = await claims(await authorizeAbly(mailboxChannels, user, { channelName: null, token: null }, settings, 1_000));
    expect(token).toMatchObject({ iat: 1_000, exp: 29_800, 'x-ably-clientId': ada });
    expect(token.capability).toEqual({ 'public:*': ['subscribe', 'history', 'channel-metadata'] });
  });

  it('never outlives the Supabase session that asked for it, new or upgraded', async () => {
    const session = { ...settings, sessionExpiresAt: 4_600 };
    const first = await authorizeAbly(mailboxChannels, user, { channelName: null, token: null }, session, 1_000);
    expect(await claims(first)).toMatchObject({ iat: 1_000, exp: 4_600 });
    // A held token from a longer session is cut back to the session asking now.
    const long = await authorizeAbly(mailboxChannels, user, { channelName: null, token: null }, settings, 1_000);
    const upgraded = await authorizeAbly(
      mailboxChannels,
      user,
      { channelName: `private:user.${ada}`, token: 'token' in long ? long.token : '' },
      { ...settings, sessionExpiresAt: 2_000 },
      1_500,
    );
    expect(await claims(upgraded)).toMatchObject({ iat: 1_000, exp: 2_000 });
  });

  it('adds the user’s own private channel (subscribe only), and refuses another user’s', async () => {
    const own = await claims(await authorizeAbly(mailboxChannels, user, { channelName: `private:user.${ada}`, token: null }, settings));
    expect(own.capability[`private:user.${ada}`]).toEqual(['subscribe']);
    expect(Object.keys(own.capability)).toEqual(['public:*', `private:user.${ada}`]);
    expect(await authorizeAbly(mailboxChannels, user, { channelName: `private:user.${grace}`, token: null }, settings)).toEqual({
      refused: 403,
      reason: `You may not join private-user.${grace}`,
    });
  });

  it('lets an admin into presence with their clientId, and answers the member info Echo enters with', async () => {
    const result = await authorizeAbly(mailboxChannels, admin, { channelName: 'presence:admins', token: null }, settings);
    expect(result).toMatchObject({ info: { name: 'Tidings Admin', role: 'admin' } });
    const token = await claims(result);
    expect(token.clientId).toBe(seedUsers.admin.id);
    expect(token.capability['presence:admins']).toEqual(['subscribe', 'presence']);
    expect(await authorizeAbly(mailboxChannels, user, { channelName: 'presence:admins', token: null }, settings)).toEqual({
      refused: 403,
      reason: 'You may not join presence-admins',
    });
  });

  it('upgrades a held token: keeps its channels, issue and expiry times, and adds the new channel', async () => {
    const first = await authorizeAbly(
      mailboxChannels,
      admin,
      { channelName: `private:user.${seedUsers.admin.id}`, token: null },
      settings,
      5_000,
    );
    const held = 'token' in first ? first.token : '';
    const upgraded = await claims(
      await authorizeAbly(mailboxChannels, admin, { channelName: 'presence:admins', token: held }, settings, 6_000),
    );
    expect(upgraded).toMatchObject({ iat: 5_000, exp: 33_800 });
    expect(Object.keys(upgraded.capability)).toEqual(['public:*', `private:user.${seedUsers.admin.id}`, 'presence:admins']);
  });

  it('does not carry over a token of another user, one signed with another key, or an expired one', async () => {
    const graces = await authorizeAbly(
      mailboxChannels,
      channelUser(grace),
      { channelName: `private:user.${grace}`, token: null },
      settings,
    );
    const forged = await new SignJWT({ 'x-ably-capability': '{"*":["*"]}', 'x-ably-clientId': ada })
      .setProtectedHeader({ typ: 'JWT', alg: 'HS256', kid: 'appId.keyId' })
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret'));
    const expired = await authorizeAbly(mailboxChannels, user, { channelName: `private:user.${ada}`, token: null }, settings, 1_000);
    for (const held of ['token' in graces ? graces.token : '', forged, 'token' in expired ? expired.token : '', 'not.a.jwt']) {
      const token = await claims(await authorizeAbly(mailboxChannels, user, { channelName: null, token: held }, settings));
      expect(token.capability).toEqual({ 'public:*': ['subscribe', 'history', 'channel-metadata'] });
    }
  });

  it('refuses a name outside Ably’s three namespaces with 400, and encrypted channels with 403; a public channel needs no rule', async () => {
    expect(await authorizeAbly(mailboxChannels, user, { channelName: `private-user.${ada}`, token: null }, settings)).toMatchObject({
      refused: 400,
    });
    expect(await authorizeAbly(mailboxChannels, user, { channelName: `private:encrypted-user.${ada}`, token: null }, settings)).toEqual({
      refused: 403,
      reason: `private:encrypted-user.${ada} is an end-to-end encrypted channel, which only the Pusher protocol has`,
    });
    const open = await claims(await authorizeAbly(mailboxChannels, user, { channelName: 'public:news', token: null }, settings));
    expect(open.capability).toEqual({ 'public:*': ['subscribe', 'history', 'channel-metadata'] });
  });
});
