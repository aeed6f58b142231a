/**
 * CORS for a web client served from another origin. CORS_ORIGINS lists the allowed origins
 * (comma-separated, `*` for any); empty means same origin only. Tokens travel in the Authorization
 * header, never in cookies, so no credentials mode is needed.
 */
import { cors as honoCors } from 'hono/cors';
import { createMiddleware } from 'hono/factory';
import { loadConfig } from '../config.ts';
import type { AppEnv } from '../env.ts';

const handler = honoCors({
  origin: (origin, c) => {
    let allowed: string[];
    try {
      allowed = loadConfig(c.env as Env).corsOrigins;
    } catch {
      return null; // withConfig answers the misconfiguration with its fix.
    }
    if (allowed.includes('*')) return '*';
    return allowed.includes(origin) ? origin : null;
  },
  allowMethods: ['GET', 'POST', 'PATCH', 'OPTIONS'],
  allowHeaders: ['Authorization', 'Content-Type', 'X-Socket-ID'],
  maxAge: 600,
});

/** Answers preflights and adds CORS headers for the configured origins. */
export const cors = createMiddleware<AppEnv>((c, next) => handler(c, next));
