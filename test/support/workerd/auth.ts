import { env } from 'cloudflare:workers';
import { importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import { app } from '../../../functions/index.ts';
import { envWith } from './env.ts';

/** The test bindings, with Supabase's JWKS served by the Node-side auth stub (test/support/node/global-setup.ts). */
export function authEnv(overrides: Partial<Record<keyof Env, string>> = {}): Env {
  return envWith({ SUPABASE_URL: `http://127.0.0.1:${env.SUPABASE_AUTH_STUB_PORT}`, ...overrides });
}

let signingKey: Promise<{ key: CryptoKey; kid: string }> | undefined;

/** The ES256 private key whose public half the auth stub publishes as JWKS. */
export function stubSigningKey(): Promise<{ key: CryptoKey; kid: string }> {
  signingKey ??= (async () => {
    const jwk = (await (await fetch(`http://127.0.0.1:${env.SUPABASE_AUTH_STUB_PORT}/__signing-key`)).json()) as JWK;
    return { key: (await importJWK(jwk, 'ES256')) as CryptoKey, kid: jwk.kid! };
  })();
  return signingKey;
}

/** Claims as Supabase Auth issues them for a signed-in user. */
export function userClaims(sub: string, extra: JWTPayload = {}): JWTPayload {
  return { sub, aud: 'authenticated', role: 'authenticated', email: 'ada@tidings.test', session_id: crypto.randomUUID(), ...extra };
}

/** An access token signed like a new Supabase project's (ES256 via JWKS). */
export async function es256Token(claims: JWTPayload, expiresIn: string | number = '1h'): Promise<string> {
  const { key, kid } = await stubSigningKey();
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' }).setIssuedAt().setExpirationTime(expiresIn).sign(key);
}

/** An access token signed like a legacy Supabase project's (HS256 with the JWT secret). */
export async function hs256Token(claims: JWTPayload, secret = env.SUPABASE_JWT_SECRET, expiresIn: string | number = '1h'): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt().setExpirationTime(expiresIn).sign(new TextEncoder().encode(secret));
}

/** Sends a request to the Worker's Hono app with `testEnv` as its bindings. */
export function call(path: string, init: RequestInit = {}, testEnv: Env = authEnv()): Promise<Response> {
  return Promise.resolve(app.request(`http://tidings.test${path}`, init, testEnv));
}

/** A form-encoded POST as pusher-js sends it to the auth endpoint. */
export function formPost(token: string | undefined, fields: Record<string, string>): RequestInit {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: new URLSearchParams(fields).toString(),
  };
}

/** Hex HMAC-SHA256, computed independently of the `pusher` SDK to check its signatures. */
export async function hmacHex(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const signature = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(message)));
  return [...signature].map((b) => b.toString(16).padStart(2, '0')).join('');
}
