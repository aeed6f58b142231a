/**
 * Verifies Supabase access tokens with jose: against the project's JWKS (asymmetric keys, the
 * default for new projects) or the legacy HS256 secret. Only listed algorithms are accepted, so an
 * `alg: none` token, or an HS256 token forged with a public key as its secret, is refused.
 */
import { createRemoteJWKSet, decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from 'jose';
import type { Config } from '../config.ts';

/** Algorithms Supabase signs user tokens with through its signing keys (JWKS). */
const ASYMMETRIC_ALGORITHMS = ['ES256', 'RS256', 'EdDSA'];
const AUDIENCE = 'authenticated';
/** Clock skew tolerated on `exp`/`nbf`/`iat`. */
const CLOCK_TOLERANCE_SECONDS = 5;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Why a token was refused; the message is safe to show the caller. */
export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
}

/**
 * The project's signing keys could not be fetched (Supabase unreachable, or not answering its JWKS):
 * the token may well be valid, so this is not a 401, which would sign the user out.
 */
export class SigningKeysUnavailableError extends Error {
  override name = 'SigningKeysUnavailableError';
}

/** A verified caller. */
export interface VerifiedToken {
  userId: string;
  email: string | undefined;
  claims: JWTPayload;
}

// jose caches the fetched keys (and refetches on an unknown `kid`, at most every 30 s); one set per
// URL for the isolate's lifetime, so keys are not fetched on every request.
const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function jwksFor(supabaseUrl: string): ReturnType<typeof createRemoteJWKSet> {
  const url = `${supabaseUrl}/auth/v1/.well-known/jwks.json`;
  let keySet = keySets.get(url);
  if (!keySet) {
    keySet = createRemoteJWKSet(new URL(url), { timeoutDuration: 5_000 });
    keySets.set(url, keySet);
  }
  return keySet;
}

function reasonFor(error: unknown): string {
  if (error instanceof InvalidTokenError) return error.message;
  if (error instanceof errors.JWTExpired) return 'The access token has expired: sign in again';
  if (error instanceof errors.JWTClaimValidationFailed) return `The access token's "${error.claim}" claim is not accepted`;
  if (error instanceof errors.JOSEAlgNotAllowed) return 'The access token is signed with an algorithm that is not accepted';
  if (error instanceof errors.JWKSNoMatchingKey) return 'The access token is signed with an unknown key';
  return 'The access token is invalid';
}

/**
 * Whether verifying against the JWKS failed for want of the keys, not because of the token: jose
 * lets fetch's own error (connection refused, DNS) through and reports a non-200 or non-JSON answer
 * as a generic JOSEError.
 */
function keysUnavailable(error: unknown): boolean {
  return error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError) || error.code === 'ERR_JOSE_GENERIC';
}

/**
 * Verifies `token` and returns the caller.
 * @throws InvalidTokenError with a reason safe to show the caller.
 * @throws SigningKeysUnavailableError when the project's JWKS cannot be fetched.
 */
export async function verifyAccessToken(token: string, config: Config): Promise<VerifiedToken> {
  try {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new InvalidTokenError('The access token is not a JWT');
    }
    // Supabase Auth signs for its own project: `iss` is {SUPABASE_URL}/auth/v1.
    const options = {
      audience: AUDIENCE,
      issuer: `${config.supabase.url}/auth/v1`,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['sub', 'exp', 'iss'],
    };
    let payload: JWTPayload;
    if (header.alg === 'HS256') {
      if (!config.supabase.jwtSecret) throw new InvalidTokenError('HS256 access tokens are not accepted: SUPABASE_JWT_SECRET is not set');
      ({ payload } = await jwtVerify(token, new TextEncoder().encode(config.supabase.jwtSecret), { ...options, algorithms: ['HS256'] }));
    } else if (typeof header.alg === 'string' && ASYMMETRIC_ALGORITHMS.includes(header.alg)) {
      try {
        ({ payload } = await jwtVerify(token, jwksFor(config.supabase.url), { ...options, algorithms: ASYMMETRIC_ALGORITHMS }));
      } catch (error) {
        if (keysUnavailable(error)) {
          throw new SigningKeysUnavailableError('The signing keys could not be fetched from Supabase; try again shortly', { cause: error });
        }
        throw error;
      }
    } else {
      throw new InvalidTokenError(`The access token's algorithm "${String(header.alg)}" is not accepted`);
    }
    if (typeof payload.sub !== 'string' || !UUID.test(payload.sub)) throw new InvalidTokenError('The access token has no user id');
    // An anonymous sign-in is a real session without an account: nothing here is for it.
    if (payload.is_anonymous === true) throw new InvalidTokenError('Anonymous sessions are not accepted: sign in with an account');
    return { userId: payload.sub, email: typeof payload.email === 'string' ? payload.email : undefined, claims: payload };
  } catch (error) {
    if (error instanceof InvalidTokenError || error instanceof SigningKeysUnavailableError) throw error;
    throw new InvalidTokenError(reasonFor(error), { cause: error });
  }
}
