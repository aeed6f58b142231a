import { env } from 'cloudflare:workers';
import { decodeJwt, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { TEST_ABLY_KEY } from '../../support/ably-key.ts';
import { seedUsers } from '../../support/seed-users.ts';
import { authEnv, call, es256Token, formPost, hmacHex, userClaims } from '../../support/workerd/auth.ts';

const ada = seedUsers.ada.id;
const grace = seedUsers.grace.id;
const masterKey = btoa(String.fromCharCode(...Array.from({ length: 32 }, (_, i) => i)));

async function adaToken(): Promise<string> {
  return es256Token(userClaims(ada));
}

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

describe('POST /broadcasting/auth', () => {
  it('signs the user’s own private channel as Pusher specifies (form-encoded, as pusher-js sends it)', async () => {
    const response = await call(
      '/broadcasting/auth',
      formPost(await adaToken(), { socket_id: '123.456', channel_name: `private-user.${ada}` }),
    );
    expect(response.status).toBe(200);
    const signature = await hmacHex(env.PUSHER_APP_SECRET, `123.456:private-user.${ada}`);
    expect(await json(response)).toEqual({ auth: `${env.PUSHER_APP_KEY}:${signature}` });
  });

  it('accepts a JSON body too', async () => {
    const response = await call('/broadcasting/auth', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${await adaToken()}` },
      body: JSON.stringify({ socket_id: '1.2', channel_name: `private-user.${ada}` }),
    });
    expect(response.status).toBe(200);
    expect((await json(response)).auth).toBe(`${env.PUSHER_APP_KEY}:${await hmacHex(env.PUSHER_APP_SECRET, `1.2:private-user.${ada}`)}`);
  });

  it('refuses another user’s private channel with 403 and the reason', async () => {
    const response = await call(
      '/broadcasting/auth',
      formPost(await adaToken(), { socket_id: '123.456', channel_name: `private-user.${grace}` }),
    );
    expect(response.status).toBe(403);
    expect(await json(response)).toEqual({ error: `You may not join private-user.${grace}` });
  });

  it('refuses channels without a rule and public channels with 403', async () => {
    for (const [channel, error] of [
      ['private-admin-room', 'No rule allows private-admin-room'],
      ['news', 'news is a public channel: it needs no authorization'],
    ]) {
      const response = await call('/broadcasting/auth', formPost(await adaToken(), { socket_id: '123.456', channel_name: channel! }));
      expect(response.status).toBe(403);
      expect(await json(response)).toEqual({ error });
    }
  });

  it('answers 400 naming the bad field for a malformed socket id or channel name', async () => {
    let response = await call('/broadcasting/auth', formPost(await adaToken(), { socket_id: 'abc', channel_name: `private-user.${ada}` }));
    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({
      error: "Invalid request body: socket_id: Invalid socket id: 'abc'",
      issues: [{ path: 'socket_id' }],
    });
    response = await call('/broadcasting/auth', formPost(await adaToken(), { socket_id: '1.2', channel_name: 'private-user.a b' }));
    expect(response.status).toBe(400);
    expect((await json(response)).error).toMatch(/^Invalid request body: channel_name: Invalid channel name: 'private-user.a b'/);
    response = await call('/broadcasting/auth', formPost(await adaToken(), { socket_id: '1.2' }));
    expect(response.status).toBe(400);
    expect((await json(response)).error).toBe('Invalid request body: channel_name: channel_name is required');
  });

  it('says a JSON socket id that is not text must be text, rather than that it is missing', async () => {
    const response = await call('/broadcasting/auth', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${await adaToken()}` },
      body: JSON.stringify({ socket_id: 1.2, channel_name: `private-user.${ada}` }),
    });
    expect(response.status).toBe(400);
    expect((await json(response)).error).toBe('Invalid request body: socket_id: socket_id must be text');
  });

  it('answers 413 for an oversized body', async () => {
    const response = await call('/broadcasting/auth', formPost(await adaToken(), { socket_id: '1.2', channel_name: 'x'.repeat(10_000) }));
    expect(response.status).toBe(413);
  });

  it('answers 400 for a body that is neither a form nor JSON', async () => {
    const response = await call('/broadcasting/auth', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${await adaToken()}` },
      body: '{not json',
    });
    expect(response.status).toBe(400);
    expect((await json(response)).error).toMatch(/as a form .* or as JSON/);
  });

  it('answers 401 without a valid token, before looking at the channel', async () => {
    const response = await call('/broadcasting/auth', formPost(undefined, { socket_id: '1.2', channel_name: `private-user.${ada}` }));
    expect(response.status).toBe(401);
  });

  it('signs an encrypted channel and returns its shared secret, derived per channel from the master key', async () => {
    const channel = `private-encrypted-user.${ada}`;
    const response = await call(
      '/broadcasting/auth',
      formPost(await adaToken(), { socket_id: '123.456', channel_name: channel }),
      authEnv({ PUSHER_ENCRYPTION_MASTER_KEY_BASE64: masterKey }),
    );
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.auth).toBe(`${env.PUSHER_APP_KEY}:${await hmacHex(env.PUSHER_APP_SECRET, `123.456:${channel}`)}`);
    // Pusher's end-to-end encryption: shared_secret = base64(SHA-256(channel name bytes ‖ master key bytes)).
    const keyBytes = Uint8Array.from(atob(masterKey), (ch) => ch.charCodeAt(0));
    const input = new Uint8Array([...new TextEncoder().encode(channel), ...keyBytes]);
    const expected = btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest('SHA-256', input))));
    expect(body.shared_secret).toBe(expected);
    const other = await call(
      '/broadcasting/auth',
      formPost(await adaToken(), { socket_id: '123.456', channel_name: `private-encrypted-user.${grace}` }),
      authEnv({ PUSHER_ENCRYPTION_MASTER_KEY_BASE64: masterKey }),
    );
    expect(other.status).toBe(403);
  });

  it('refuses an encrypted channel when no master key is configured', async () => {
    const response = await call(
      '/broadcasting/auth',
      formPost(await adaToken(), { socket_id: '123.456', channel_name: `private-encrypted-user.${ada}` }),
    );
    expect(response.status).toBe(403);
    expect((await json(response)).error).toMatch(/no PUSHER_ENCRYPTION_MASTER_KEY_BASE64/);
  });
});

describe('POST /broadcasting/auth with the ably broadcaster (as @ably/laravel-echo calls it)', () => {
  const ablyEnv = () => authEnv({ BROADCAST_DRIVER: 'ably', ABLY_KEY: TEST_ABLY_KEY });
  const [keyName, keySecret] = [TEST_ABLY_KEY.split(':')[0]!, TEST_ABLY_KEY.split(':')[1]!];

  /** Echo's request: JSON with the Ably channel name (null at first) and the token it holds. */
  async function echoAuth(channel_name: string | null, token: string | null = null): Promise<Response> {
    return call(
      '/broadcasting/auth',
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: `Bearer ${await adaToken()}` },
        body: JSON.stringify({ channel_name, token }),
      },
      ablyEnv(),
    );
  }

  it('answers {token}: an Ably JWT that verifies with the key secret, naming the user as clientId', async () => {
    const first = await echoAuth(null);
    expect(first.status).toBe(200);
    const { token } = (await first.json()) as { token: string };
    const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(keySecret), { algorithms: ['HS256'] });
    expect(protectedHeader.kid).toBe(keyName);
    expect(payload['x-ably-clientId']).toBe(ada);
    // ABLY_TOKEN_EXPIRY is 8 hours, but the token ends with the Supabase session that asked for it (1 hour here).
    const session = decodeJwt(await adaToken());
    expect(payload.exp).toBe(Math.min(payload.iat! + 28_800, session.exp!));
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(3600);

    const upgraded = await echoAuth(`private:user.${ada}`, token);
    expect(upgraded.status).toBe(200);
    const body = (await upgraded.json()) as { token: string };
    expect(Object.keys(body)).toEqual(['token']);
    const claims = (await jwtVerify(body.token, new TextEncoder().encode(keySecret))).payload;
    expect(JSON.parse(String(claims['x-ably-capability']))).toEqual({
      'public:*': ['subscribe', 'history', 'channel-metadata'],
      [`private:user.${ada}`]: ['subscribe'],
    });
  });

  // ably-js (under @ably/laravel-echo too) reads a failed request's `error` as an Ably ErrorInfo and
  // throws on a plain sentence, so every refusal here is `{error: {message, code, statusCode}}`.
  it('refuses another user’s channel with 403 and the reason in Ably’s error shape, and a Pusher-style name with 400', async () => {
    const other = await echoAuth(`private:user.${grace}`);
    expect(other.status).toBe(403);
    expect(await json(other)).toEqual({ error: { message: `You may not join private-user.${grace}`, code: 40300, statusCode: 403 } });
    const pusherStyle = await echoAuth(`private-user.${ada}`);
    expect(pusherStyle.status).toBe(400);
    expect((await json(pusherStyle)).error).toMatchObject({ code: 40000, statusCode: 400 });
  });

  it('answers 400 naming the field, 401 without a session and 413 for a huge body, each in Ably’s error shape', async () => {
    const response = await call(
      '/broadcasting/auth',
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${await adaToken()}` },
        body: '{"channel_name":7}',
      },
      ablyEnv(),
    );
    expect(response.status).toBe(400);
    expect(await json(response)).toEqual({
      error: { message: 'Invalid request body: channel_name: channel_name must be text or null', code: 40000, statusCode: 400 },
    });
    const anonymous = await call('/broadcasting/auth', { method: 'POST', body: '{"channel_name":null}' }, ablyEnv());
    expect(anonymous.status).toBe(401);
    expect((await json(anonymous)).error).toEqual({
      message: 'Sign in first: send "Authorization: Bearer <Supabase access token>"',
      code: 40100,
      statusCode: 401,
    });
    const huge = await call(
      '/broadcasting/auth',
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${await adaToken()}` },
        body: JSON.stringify({ channel_name: null, token: 'x'.repeat(9000) }),
      },
      ablyEnv(),
    );
    expect(huge.status).toBe(413);
    expect((await json(huge)).error).toMatchObject({ code: 41300, statusCode: 413 });
  });
});

describe('POST /broadcasting/user-auth', () => {
  it('signs pusher:signin user data carrying the verified user id', async () => {
    const response = await call('/broadcasting/user-auth', formPost(await adaToken(), { socket_id: '123.456' }));
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(JSON.parse(body.user_data as string)).toEqual({ id: ada });
    expect(body.auth).toBe(`${env.PUSHER_APP_KEY}:${await hmacHex(env.PUSHER_APP_SECRET, `123.456::user::${body.user_data as string}`)}`);
  });

  it('refuses a malformed socket id and a missing token', async () => {
    expect((await call('/broadcasting/user-auth', formPost(await adaToken(), { socket_id: '1' }))).status).toBe(400);
    expect((await call('/broadcasting/user-auth', formPost(undefined, { socket_id: '1.2' }))).status).toBe(401);
  });
});

describe('configuration', () => {
  it('answers 500 with the fix when a secret is missing, and names no secret value', async () => {
    const response = await call(
      '/broadcasting/auth',
      formPost(await adaToken(), { socket_id: '1.2', channel_name: `private-user.${ada}` }),
      authEnv({ PUSHER_APP_SECRET: '' }),
    );
    expect(response.status).toBe(500);
    expect(await json(response)).toEqual({
      error:
        'The server is misconfigured: PUSHER_APP_SECRET is not set: run "wrangler secret put PUSHER_APP_SECRET" or add it to .dev.vars',
    });
  });
});
