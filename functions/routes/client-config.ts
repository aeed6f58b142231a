/**
 * `/api/config`: what the web client needs to connect, all of it public (the app key, the
 * Supabase URL and anon key). Development adds the seeded logins. With the `ably` broadcaster,
 * `ably` says where ably-js connects (and that it is the transport to use).
 */
import { Hono } from 'hono';
import type { Config } from '../config.ts';
import type { AppEnv } from '../env.ts';
import { withConfig } from '../http/with-config.ts';

/** Where browsers open their WebSocket. */
export function websocketEndpoint(config: Config, requestUrl: URL): { wsHost: string; wsPort: number; forceTLS: boolean } {
  if (config.broadcastDriver === 'pusher') {
    const { host, port, useTLS, cluster } = config.pusher;
    if (!host) return { wsHost: `ws-${cluster}.pusher.com`, wsPort: 443, forceTLS: true };
    return { wsHost: host, wsPort: port ?? (useTLS ? 443 : 80), forceTLS: useTLS };
  }
  // The built-in realtime server answers on this Worker's own origin (/app/{key}).
  const forceTLS = requestUrl.protocol === 'https:';
  return { wsHost: requestUrl.hostname, wsPort: Number(requestUrl.port) || (forceTLS ? 443 : 80), forceTLS };
}

/** Where ably-js connects, for the ably broadcaster: ABLY_HOST/PORT/SCHEME (Ably's own endpoint by default). */
export function ablyEndpoint(config: Config): { host: string; port: number; tls: boolean } {
  return { host: config.ably.host, port: config.ably.port, tls: config.ably.useTLS };
}

export const clientConfig = new Hono<AppEnv>().use(withConfig).get('/', (c) => {
  const config = c.get('config');
  return c.json({
    pusher: { key: config.pusher.key, ...websocketEndpoint(config, new URL(c.req.url)), cluster: config.pusher.cluster },
    ...(config.broadcastDriver === 'ably' ? { ably: ablyEndpoint(config) } : {}),
    supabase: { url: config.supabase.url, anonKey: config.supabase.anonKey },
    ...(config.appEnv === 'development' ? { devUsers: config.devUsers } : {}),
  });
});
