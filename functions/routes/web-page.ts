/**
 * The web client's page (`/`), served from the static assets with a Content-Security-Policy: scripts,
 * styles and everything else from this origin only; connections to this origin, the Supabase
 * project and the realtime server; never framed. Built per request from the configuration, since
 * those origins are settings.
 */
import { type Context, Hono } from 'hono';
import type { Config } from '../config.ts';
import type { AppEnv } from '../env.ts';
import { withConfig } from '../http/with-config.ts';
import { websocketEndpoint } from './client-config.ts';

/** The page's policy for these settings, reached at `requestUrl`. */
export function contentSecurityPolicy(config: Config, requestUrl: URL): string {
  const { wsHost, wsPort, forceTLS } = websocketEndpoint(config, requestUrl);
  const realtime = `${forceTLS ? 'wss' : 'ws'}://${wsHost}:${wsPort}`;
  const supabase = new URL(config.supabase.url).origin;
  return [
    "default-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${supabase} ${realtime}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

async function page(c: Context<AppEnv>): Promise<Response> {
  // `/` is index.html among the assets (which redirect /index.html to it).
  const asset = await c.env.ASSETS.fetch(new Request(new URL('/', c.req.url), c.req.raw));
  const headers = new Headers(asset.headers);
  headers.set('Content-Security-Policy', contentSecurityPolicy(c.get('config'), new URL(c.req.url)));
  headers.set('X-Content-Type-Options', 'nosniff');
  headers.set('Referrer-Policy', 'no-referrer');
  return new Response(asset.body, { status: asset.status, headers });
}

// withConfig on this route only: this router is mounted at the root, beside the realtime server.
export const webPage = new Hono<AppEnv>().get('/', withConfig, page);
