// PUBLIC DEVELOPMENT KEYS. Every value in this file is published on purpose, so that the local
// Supabase answers with the same keys on every machine (as `supabase start` does). They protect
// nothing: never use them for a deployed project.

/** The legacy HS256 JWT secret of `supabase start` (public, development only). */
export const LEGACY_JWT_SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';

/** `supabase start`'s anon key: an HS256 JWT `{"iss":"supabase-demo","role":"anon"}` signed with LEGACY_JWT_SECRET. */
export const ANON_KEY =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0';

/** `supabase start`'s service_role key (bypasses row level security; server-side only). */
export const SERVICE_ROLE_KEY =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImV4cCI6MTk4MzgxMjk5Nn0.EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU';

/**
 * The ES256 key that signs user access tokens, published (public half) at
 * /auth/v1/.well-known/jwks.json as new Supabase projects do. PUBLIC development key.
 */
export const USER_TOKEN_SIGNING_JWK = {
  kty: 'EC',
  crv: 'P-256',
  kid: 'tidings-local-development-es256',
  alg: 'ES256',
  x: 'Qz3ywm25NsKw8S6EqJJMrt44873QxDP0IzRwPdIKDQc',
  y: 'En4kMKGz67adsoBKhijEodW8tjfUy8vyqkkPUmQzE3A',
  d: 'VJ_MwSBQNGxLZKushA2n1q0AC-G3RD-aj1eI9h9P9T0',
} as const;

/** The public half of USER_TOKEN_SIGNING_JWK, as the JWKS document lists it. */
export function publicUserTokenJwk(): Record<string, unknown> {
  const { d: _private, ...publicJwk } = USER_TOKEN_SIGNING_JWK;
  return { ...publicJwk, use: 'sig', key_ops: ['verify'] };
}
