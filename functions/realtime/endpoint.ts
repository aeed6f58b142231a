import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from '../env.ts';
import { createLogger } from '../log.ts';
import { clientAddress } from './admission.ts';
import { loadApps } from './apps.ts';
import { CloseCode, PROTOCOL_VERSION } from './frames.ts';
import { pickShard, shardObject } from './placement.ts';
import { refuseWebSocket } from './refusal.ts';
import { SHARD_HEADERS } from './shard.ts';

/**
 * The WebSocket endpoint `/app/{key}`: refuses unknown keys (4001), disabled apps (4003) and
 * missing or unsupported protocol versions (4008, 4007) with close codes pusher-js understands,
 * and hands every other upgrade to one of the app's connection shards.
 */
export const realtimeEndpoint = new Hono<AppEnv>();

realtimeEndpoint.get('/app/:key', async (c) => {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
    throw new HTTPException(426, { message: 'Expected a WebSocket upgrade (Upgrade: websocket): connect with pusher-js' });
  }
  const key = c.req.param('key');
  // A misconfiguration is a ConfigError: a 500 naming the setting, through the app's error path.
  const app = loadApps(c.env).byKey(key);
  const log = createLogger(c.env.LOG_LEVEL, { component: 'realtime' });
  if (!app) {
    log.info('connection refused: unknown app key', { key: key.slice(0, 64) });
    return refuseWebSocket(CloseCode.appDoesNotExist, `App key '${key.slice(0, 64)}' does not exist`);
  }
  if (!app.enabled) return refuseWebSocket(CloseCode.appDisabled, `App '${app.id}' is disabled`);
  const protocol = c.req.query('protocol');
  if (protocol === undefined || protocol === '') return refuseWebSocket(CloseCode.noProtocol, 'No protocol version given: add ?protocol=7');
  if (protocol !== String(PROTOCOL_VERSION)) {
    return refuseWebSocket(
      CloseCode.unsupportedProtocol,
      `Unsupported protocol version '${protocol.slice(0, 10)}' (only ${PROTOCOL_VERSION})`,
    );
  }
  const shard = pickShard(app);
  const headers = new Headers(c.req.raw.headers);
  headers.set(SHARD_HEADERS.app, app.id);
  headers.set(SHARD_HEADERS.shard, String(shard));
  // Cloudflare sets CF-Connecting-IP; without it (some local setups) every client is one address.
  headers.set(SHARD_HEADERS.address, clientAddress(c.req.header('CF-Connecting-IP')));
  return shardObject(c.env, app.id, shard).fetch(new Request(c.req.raw, { headers }));
});

realtimeEndpoint.get('/app/*', (c) => {
  if (c.req.header('upgrade')?.toLowerCase() === 'websocket') {
    return refuseWebSocket(CloseCode.pathNotFound, `Path not found: ${new URL(c.req.url).pathname.slice(0, 80)} (connect to /app/{key})`);
  }
  throw new HTTPException(404, { message: `Not found: GET ${new URL(c.req.url).pathname}` });
});
