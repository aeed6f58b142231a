// Supabase access tokens for the tests, from one issuer: the local Supabase's (supabase/local/).
// ES256 tokens are signed with its published development key, the one whose JWKS the local
// Supabase serves and, for the workerd tests, the auth stub (support/node/supabase-auth-stub.ts);
// HS256 tokens are signed with a legacy JWT secret, as older projects' are. Needs only jose, so
// Node-side and workerd tests both use it.
import { type JWTPayload, SignJWT } from 'jose';
import { signUserAccessToken } from '../../supabase/local/jwt.ts';
import { USER_TOKEN_SIGNING_JWK } from '../../supabase/local/keys.ts';

/** The `kid` of the published key that signs ES256 tokens. */
export const signingKeyId = USER_TOKEN_SIGNING_JWK.kid;

/** Claims as Supabase Auth issues them for a signed-in user. */
export function userClaims(sub: string, extra: JWTPayload = {}): JWTPayload {
  return { sub, aud: 'authenticated', role: 'authenticated', email: 'ada@tidings.test', session_id: crypto.randomUUID(), ...extra };
}

/** An access token signed like a new Supabase project's (ES256, checked against the JWKS); expired when `expiresInSeconds` is negative. */
export function es256Token(claims: JWTPayload, expiresInSeconds = 3600): Promise<string> {
  return signUserAccessToken(claims, expiresInSeconds);
}

/** An access token signed like a legacy Supabase project's (HS256 with the JWT secret). */
export function hs256Token(claims: JWTPayload, secret: string, expiresInSeconds = 3600): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(now)
    .setExpirationTime(now + expiresInSeconds)
    .sign(new TextEncoder().encode(secret));
}
