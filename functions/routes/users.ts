/** `/api/users` (admins): who can receive email. */
import { Hono } from 'hono';
import { requireAdmin, requireUser } from '../auth/middleware.ts';
import { serviceClient } from '../data/client.ts';
import { listProfiles } from '../data/profiles.ts';
import type { AppEnv } from '../env.ts';
import { withConfig } from '../http/with-config.ts';

export const users = new Hono<AppEnv>()
  .use(withConfig, requireUser, requireAdmin)
  .get('/', async (c) => c.json({ users: await listProfiles(serviceClient(c.get('config'))) }));
