/**
 * CORS for a web client served from another origin. CORS_ORIGINS lists the allowed origins
 * (comma-separated, `*` for any); empty means same origin only. Tokens travel in the Authorization
 * header, never in cookies, so no credentials mode is needed. Runs after `withConfig`, which has
 * answered a misconfiguration with its fix before any origin is weighed.
 */
import type { Context } from 'hono';
import { cors as honoCors } from 'hono/cors';
import type { AppEnv } from '../env.ts';

export const cors = honoCors({
  origin: (origin, c: Context<AppEnv>) => {
    const allowed = c.get('config').corsOrigins;
    if (allowed.includes('*')) return '*';
    return allowed.includes(origin) ? origin : null;
  },
  allowMethods: ['GET', 'POST', 'PATCH', 'OPTIONS'],
  allowHeaders: ['Authorization', 'Content-Type', 'X-Socket-ID'],
  maxAge: 600,
});
