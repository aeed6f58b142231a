/**
 * The web client's page (`/`), served from the static assets with a Content-Security-Policy: scripts,
 * styles and everything else from this origin only; connections to this origin, the Supabase
 * project and the realtime server; never framed. Built per request from the configuration, since
 * those origins are settings.
 */
import { type Context, Hono } from 'hono';
import { ABLY_DEFAULT_HOST } from '../broadcast/ably-rules.ts';
import type { Config } from '../config.ts';
import type { AppEnv } from '../env.ts';
import { withConfig } from '../http/with-config.ts';
import { ablyEndpoint, websocketEndpoint } from './client-config.ts';

/** The origins the realtime client connects to: the Pusher-protocol server, or Ably (its WebSocket and REST, and its fallback hosts). */
function realtimeOrigins(config: Config, requestUrl: URL): string {
  if (config.broadcastDriver === 'ably') {
    const { host, port, tls } = ablyEndpoint(config);
    const origins = [`${tls ? 'wss' : 'ws'}://${host}:${port}`, `${tls ? 'https' : 'http'}://${host}:${port}`];
    if (host === ABLY_DEFAULT_HOST) origins.push('wss://*.ably-realtime.com', 'https://*.ably-realtime.com');
    return origins.join(' ');
  }
  const { wsHost, wsPort, forceTLS } = websocketEndpoint(config, requestUrl);
  return `${forceTLS ? 'wss' : 'ws'}://${wsHost}:${wsPort}`;
}

/** The page's policy for these settings, reached at `requestUrl`. */
export function contentSecurityPolicy(config: Config, requestUrl: URL): string {
  const realtime = realtimeOrigins(config, requestUrl);
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
