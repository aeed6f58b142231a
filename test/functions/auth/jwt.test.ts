import { env } from 'cloudflare:workers';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { seedUsers } from '../../support/seed-users.ts';
import { authEnv, call, es256Token, formPost, hs256Token, signingKeyId, userClaims } from '../../support/workerd/auth.ts';

const ada = seedUsers.ada.id;

/** Authorizing one's own private channel needs nothing but a valid token: the probe for these tests. */
function probe(token: string | undefined, testEnv = authEnv(), headers: Record<string, string> = {}): Promise<Response> {
  const init = formPost(token, { socket_id: '123.456', channel_name: `private-user.${ada}` });
  return call('/broadcasting/auth', { ...init, headers: { ...(init.headers as Record<string, string>), ...headers } }, testEnv);
}

async function refused(response: Response): Promise<string> {
  expect(response.status).toBe(401);
  return ((await response.json()) as { error: string }).error;
}

describe('Supabase JWT verification', () => {
  it('accepts an ES256 token verified against the project’s JWKS', async () => {
    expect((await probe(await es256Token(userClaims(ada)))).status).toBe(200);
  });

  it('accepts an HS256 token signed with SUPABASE_JWT_SECRET (legacy projects)', async () => {
    expect((await probe(await hs256Token(userClaims(ada)))).status).toBe(200);
  });

  it('refuses a request without a token', async () => {
    expect(await refused(await probe(undefined))).toBe('Sign in first: send "Authorization: Bearer <Supabase access token>"');
    expect(await refused(await probe(undefined, authEnv(), { Authorization: 'Basic abc' }))).toMatch(/^Sign in first/);
  });

  it('refuses a token that is not a JWT', async () => {
    expect(await refused(await probe('not.a.jwt'))).toBe('The access token is not a JWT');
  });

  it('refuses an expired token', async () => {
    const expired = await es256Token(userClaims(ada), -120);
    expect(await refused(await probe(expired))).toBe('The access token has expired: sign in again');
  });

  it('refuses an unsigned token (alg: none)', async () => {
    const unsigned = new UnsecuredJWT(userClaims(ada)).setIssuedAt().setExpirationTime('1h').encode();
    expect(await refused(await probe(unsigned))).toBe('The access token\'s algorithm "none" is not accepted');
  });

  it('refuses an ES256 token signed by a key the project did not publish, even with its kid', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT(userClaims(ada))
      .setProtectedHeader({ alg: 'ES256', kid: signingKeyId })
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
    expect(await refused(await probe(forged))).toBe('The access token is invalid');
    const unknownKid = await new SignJWT(userClaims(ada))
      .setProtectedHeader({ alg: 'ES256', kid: 'elsewhere' })
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
    expect(await refused(await probe(unknownKid))).toBe('The access token is signed with an unknown key');
  });

  it('refuses an HS256 token signed with another secret', async () => {
    expect(await refused(await probe(await hs256Token(userClaims(ada), 'another-secret-with-at-least-32-characters!!')))).toBe(
      'The access token is invalid',
    );
  });

  it('refuses HS256 tokens altogether when no SUPABASE_JWT_SECRET is set', async () => {
    const token = await hs256Token(userClaims(ada));
    expect(await refused(await probe(token, authEnv({ SUPABASE_JWT_SECRET: '' })))).toBe(
      'HS256 access tokens are not accepted: SUPABASE_JWT_SECRET is not set',
    );
  });

  it('refuses an HS256 token forged with the published public key as its secret (algorithm confusion)', async () => {
    const jwks = (await (await fetch(`http://127.0.0.1:${env.SUPABASE_AUTH_STUB_PORT}/auth/v1/.well-known/jwks.json`)).json()) as {
      keys: object[];
    };
    const forged = await hs256Token(userClaims(ada), JSON.stringify(jwks.keys[0]));
    expect(await refused(await probe(forged, authEnv({ SUPABASE_JWT_SECRET: '' })))).toMatch(/not accepted/);
    expect(await refused(await probe(forged))).toBe('The access token is invalid');
  });

  it('refuses tokens for another audience, such as the anon and service role keys', async () => {
    expect(await refused(await probe(await es256Token(userClaims(ada, { aud: 'somewhere-else' }))))).toBe(
      'The access token\'s "aud" claim is not accepted',
    );
    expect(await refused(await probe(env.SUPABASE_ANON_KEY))).toMatch(/"(aud|exp)" claim is not accepted/);
    expect(await refused(await probe(env.SUPABASE_SERVICE_ROLE_KEY))).toMatch(/"(aud|exp)" claim is not accepted/);
  });

  it('refuses a token issued for another Supabase project, or with no issuer', async () => {
    const other = await es256Token(userClaims(ada, { iss: 'https://another-project.supabase.co/auth/v1' }));
    expect(await refused(await probe(other))).toBe('The access token\'s "iss" claim is not accepted');
    const { iss: _iss, ...claims } = userClaims(ada);
    expect(await refused(await probe(await es256Token(claims)))).toBe('The access token\'s "iss" claim is not accepted');
  });

  it('refuses an anonymous session: every route here needs an account', async () => {
    const anonymous = await es256Token(userClaims(ada, { is_anonymous: true }));
    expect(await refused(await probe(anonymous))).toBe('Anonymous sessions are not accepted: sign in with an account');
  });

  it('refuses a token without a user id', async () => {
    const { sub: _sub, ...claims } = userClaims(ada);
    expect(await refused(await probe(await es256Token(claims)))).toBe('The access token\'s "sub" claim is not accepted');
    expect(await refused(await probe(await es256Token(userClaims('not-a-uuid'))))).toBe('The access token has no user id');
  });

  it('ignores a public key embedded in the token header and refuses the token', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    const forged = await new SignJWT(userClaims(ada))
      .setProtectedHeader({ alg: 'ES256', jwk })
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
    expect((await probe(forged)).status).toBe(401);
  });

  it('answers 503, not 401, when the project’s signing keys cannot be fetched, so a valid session is kept', async () => {
    // Nothing listens on port 9: as when Supabase is down. A 401 would make the web client sign out.
    const response = await probe(await es256Token(userClaims(ada)), authEnv({ SUPABASE_URL: 'http://127.0.0.1:9' }));
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: 'The signing keys could not be fetched from Supabase; try again shortly' });
  });

  it('answers 503 when Supabase answers its JWKS with an error page', async () => {
    // The auth stub answers 404 for any other path: a project URL with a wrong path prefix.
    const response = await probe(
      await es256Token(userClaims(ada)),
      authEnv({ SUPABASE_URL: `http://127.0.0.1:${env.SUPABASE_AUTH_STUB_PORT}/elsewhere` }),
    );
    expect(response.status).toBe(503);
  });

  it('fetches the JWKS once and reuses it', async () => {
    const count = async () =>
      ((await (await fetch(`http://127.0.0.1:${env.SUPABASE_AUTH_STUB_PORT}/__jwks-requests`)).json()) as { count: number }).count;
    await probe(await es256Token(userClaims(ada)));
    const before = await count();
    for (let i = 0; i < 3; i++) expect((await probe(await es256Token(userClaims(ada)))).status).toBe(200);
    expect(await count()).toBe(before);
  });
});
