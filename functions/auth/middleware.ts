/** Middleware that every authenticated route shares: the caller and their role. */
import { createMiddleware } from 'hono/factory';
import { HTTPException } from 'hono/http-exception';
import { serviceClient } from '../data/client.ts';
import { findProfile, type Profile } from '../data/profiles.ts';
import type { AppEnv, AuthUser } from '../env.ts';
import { verifyAccessToken } from './jwt.ts';

function bearerToken(header: string | undefined): string {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!match) throw new HTTPException(401, { message: 'Sign in first: send "Authorization: Bearer <Supabase access token>"' });
  return match[1]!;
}

/** Requires a valid Supabase access token; sets `user` (401 otherwise). Needs `withConfig` (../http/with-config.ts) first. */
export const requireUser = createMiddleware<AppEnv>(async (c, next) => {
  const config = c.get('config');
  const verified = await verifyAccessToken(bearerToken(c.req.header('Authorization')), config);
  let profile: Promise<Profile | null> | undefined;
  const user: AuthUser = {
    id: verified.userId,
    email: verified.email,
    claims: verified.claims,
    // Read on demand and at most once: most channel rules never need it.
    profile: () => (profile ??= findProfile(serviceClient(config), verified.userId)),
  };
  c.set('user', user);
  await next();
});

/** Requires the caller's profile; sets `profile` (403 when the user has none). */
export const requireProfile = createMiddleware<AppEnv>(async (c, next) => {
  const profile = await c.get('user').profile();
  if (!profile) throw new HTTPException(403, { message: 'Your account has no profile yet: ask an admin to create it' });
  c.set('profile', profile);
  await next();
});

/** Requires an admin (from `profiles.role`, not from anything the client could set). */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const profile = await c.get('user').profile();
  if (!profile) throw new HTTPException(403, { message: 'Your account has no profile yet: ask an admin to create it' });
  if (profile.role !== 'admin') throw new HTTPException(403, { message: 'Only admins may do this' });
  c.set('profile', profile);
  await next();
});
