/** `/api/me`: the signed-in user's profile. */
import { Hono } from 'hono';
import { requireProfile, requireUser } from '../auth/middleware.ts';
import type { AppEnv } from '../env.ts';
import { withConfig } from '../http/with-config.ts';

export const me = new Hono<AppEnv>().use(withConfig, requireUser, requireProfile).get('/', (c) => {
  const { id, email, display_name, role } = c.get('profile');
  return c.json({ user: { id, email, display_name, role } });
});
