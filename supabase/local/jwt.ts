import { type CryptoKey, decodeProtectedHeader, importJWK, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { LEGACY_JWT_SECRET, USER_TOKEN_SIGNING_JWK } from './keys.ts';

/** Claims PostgREST and GoTrue read from a Supabase JWT. */
export interface SupabaseClaims extends JWTPayload {
  role?: string;
  email?: string;
  session_id?: string;
}

// Imported once: jose would import a raw secret again on every verification.
const legacyKey = crypto.subtle.importKey('raw', new TextEncoder().encode(LEGACY_JWT_SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, [
  'verify',
]);
let signingKey: Promise<CryptoKey> | null = null;
let verifyingKey: Promise<CryptoKey> | null = null;

function userKeys(): { sign: Promise<CryptoKey>; verify: Promise<CryptoKey> } {
  signingKey ??= importJWK(USER_TOKEN_SIGNING_JWK, 'ES256') as Promise<CryptoKey>;
  const { d: _private, ...publicJwk } = USER_TOKEN_SIGNING_JWK;
  verifyingKey ??= importJWK(publicJwk, 'ES256') as Promise<CryptoKey>;
  return { sign: signingKey, verify: verifyingKey };
}

/**
 * Tokens verified lately, by their exact text: the project keys and a user's session token come
 * with every request (twice: `apikey` and `Authorization`), and each Web Crypto verification is a
 * trip to Node's thread pool. PostgREST keeps such a cache too (`jwt-cache-max-lifetime`). A hit
 * still checks `exp` and `nbf`; the oldest entry makes room when the cache is full.
 */
const verified = new Map<string, SupabaseClaims>();
const VERIFIED_CACHE_SIZE = 1000;

function stillValid(claims: SupabaseClaims, nowSeconds: number): boolean {
  return (claims.exp === undefined || nowSeconds < claims.exp) && (claims.nbf === undefined || nowSeconds >= claims.nbf);
}

/**
 * Verifies a JWT the way Supabase does: ES256 user tokens against the published signing key,
 * HS256 tokens (the anon and service_role keys, older projects' user tokens) against the legacy
 * secret. Throws with a message PostgREST-like errors can quote.
 */
export async function verifySupabaseJwt(token: string): Promise<SupabaseClaims> {
  const known = verified.get(token);
  if (known) {
    if (stillValid(known, Math.floor(Date.now() / 1000))) return known;
    verified.delete(token);
  }
  const claims = await verifyAnew(token);
  if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
  verified.set(token, claims);
  return claims;
}

async function verifyAnew(token: string): Promise<SupabaseClaims> {
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw new Error('Expected 3 parts in JWT; got a malformed token');
  }
  const key = alg === 'HS256' ? await legacyKey : alg === 'ES256' ? await userKeys().verify : null;
  if (!key) throw new Error(`Wrong or unsupported JWT algorithm: ${alg ?? 'none'}`);
  try {
    const { payload } = await jwtVerify(token, key, { algorithms: [alg!] });
    return Object.freeze(payload) as SupabaseClaims;
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new Error(code === 'ERR_JWT_EXPIRED' ? 'JWT expired' : 'JWT could not be verified: invalid signature or claims');
  }
}

/** Signs a user access token (ES256, `kid` of the published key), as GoTrue does on new projects. */
export async function signUserAccessToken(claims: SupabaseClaims, expiresInSeconds: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: USER_TOKEN_SIGNING_JWK.kid, typ: 'JWT' })
    .setIssuedAt(now)
    .setExpirationTime(now + expiresInSeconds)
    .sign(await userKeys().sign);
}
