/**
 * Headers every answer carries. The page (`/`) has its own Content-Security-Policy
 * (routes/web-page.ts); anything else the Worker answers (JSON, errors, 404s) is never a document
 * to run or frame, so it gets {@link NOTHING_POLICY}. The static assets that bypass the Worker get
 * the same headers from web/_headers.
 */
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env.ts';

/** The policy of everything but the page: loads nothing, framed nowhere. web/_headers repeats it (a test compares them). */
export const NOTHING_POLICY = "default-src 'none'; frame-ancestors 'none'";

export const securityHeaders = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  // A WebSocket handshake's headers belong to the runtime.
  if (c.res.status === 101) return;
  if (!c.res.headers.has('Content-Security-Policy')) c.res.headers.set('Content-Security-Policy', NOTHING_POLICY);
  c.res.headers.set('X-Content-Type-Options', 'nosniff');
});
