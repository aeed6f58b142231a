import { env } from 'cloudflare:workers';
import type { JWTPayload } from 'jose';
import type { ChannelUser } from '../../../functions/broadcast/channel-rules.ts';
import { app } from '../../../functions/index.ts';
import { hs256Token as signHs256, userClaims as supabaseUserClaims } from '../tokens.ts';
import { envWith } from './env.ts';

export { es256Token, signingKeyId } from '../tokens.ts';

/** Claims as the auth stub's project issues them (`iss` is {SUPABASE_URL of authEnv()}/auth/v1). */
export function userClaims(sub: string, extra: JWTPayload = {}): JWTPayload {
  return supabaseUserClaims(sub, { iss: `http://127.0.0.1:${env.SUPABASE_AUTH_STUB_PORT}/auth/v1`, ...extra });
}

/** The test bindings, with Supabase's JWKS served by the Node-side auth stub (test/support/node/global-setup.ts). */
export function authEnv(overrides: Partial<Record<keyof Env, string>> = {}): Env {
  return envWith({ SUPABASE_URL: `http://127.0.0.1:${env.SUPABASE_AUTH_STUB_PORT}`, ...overrides });
}

/** An HS256 access token signed with the Worker's SUPABASE_JWT_SECRET (or `secret`), as legacy projects sign them. */
export function hs256Token(claims: JWTPayload, secret = env.SUPABASE_JWT_SECRET): Promise<string> {
  return signHs256(claims, secret);
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

/** A signed-in user as the channel rules see it, counting how often its profile is read. */
export function channelUser(
  id: string,
  profile: { display_name: string; role: 'admin' | 'user' } | null = { display_name: 'Ada', role: 'user' },
): ChannelUser & { profileReads: number } {
  const user = {
    id,
    email: 'ada@tidings.test',
    profileReads: 0,
    profile: async () => {
      user.profileReads++;
      return profile;
    },
  };
  return user;
}
