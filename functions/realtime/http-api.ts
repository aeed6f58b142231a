import { type Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';
import { channelKind, channelNameProblem, Limits, serverToUserChannel } from '../broadcast/pusher-rules.ts';
import type { AppEnv } from '../env.ts';
import { limitBody } from '../http/body-limit.ts';
import { parseJsonText } from '../http/validation.ts';
import { loadApps, type RealtimeApp } from './apps.ts';
import { channelObject, shardObject } from './placement.ts';
import { type PublishRequest, publishEvents, validatePublish } from './publishing.ts';
import { constantTimeEqual, md5Hex, requestSignature } from './signatures.ts';

/** How far `auth_timestamp` may be from the server's clock, in seconds. */
const TIMESTAMP_TOLERANCE_SECONDS = 600;
/** A batch of 10 events of 10 KB each, plus their envelopes. */
const MAX_BODY_BYTES = 256 * 1024;

type ApiEnv = AppEnv & { Variables: { app: RealtimeApp; body: string } };

/**
 * Pusher's HTTP API, `/apps/{app_id}/...`: requests are signed with the app secret (auth_key,
 * auth_timestamp, auth_version, body_md5, auth_signature) and answered with real statuses.
 * Verification happens here in the Worker; the app's Durable Object does the work over RPC.
 */
export const realtimeHttpApi = new Hono<ApiEnv>();

realtimeHttpApi.use('/apps/:appId/*', limitBody(MAX_BODY_BYTES));
realtimeHttpApi.use('/apps/:appId/*', async (c, next) => {
  const app = loadApps(c.env).byId(c.req.param('appId'));
  if (!app) throw new HTTPException(404, { message: `Unknown app id '${c.req.param('appId')}'` });
  if (!app.enabled) throw new HTTPException(403, { message: `App '${app.id}' is disabled` });
  const body = await c.req.text();
  verifySignedRequest(app, c.req.method, new URL(c.req.url), body);
  c.set('app', app);
  c.set('body', body);
  await next();
});

/** Throws a 401 (or 400) HTTPException unless the request is signed as Pusher documents. */
export function verifySignedRequest(
  app: RealtimeApp,
  method: string,
  url: URL,
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): void {
  const params = Object.fromEntries(url.searchParams);
  for (const name of ['auth_key', 'auth_timestamp', 'auth_version', 'auth_signature']) {
    if (!params[name]) throw new HTTPException(401, { message: `Missing ${name}: sign the request as Pusher's HTTP API documents` });
  }
  if (params.auth_key !== app.key) throw new HTTPException(401, { message: `Invalid auth_key for app '${app.id}'` });
  if (params.auth_version !== '1.0')
    throw new HTTPException(401, { message: `Unsupported auth_version '${params.auth_version}' (expected 1.0)` });
  const timestamp = Number(params.auth_timestamp);
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > TIMESTAMP_TOLERANCE_SECONDS) {
    throw new HTTPException(401, { message: `Stale auth_timestamp: more than ${TIMESTAMP_TOLERANCE_SECONDS} s from the server's clock` });
  }
  if (body.length > 0 && !constantTimeEqual(params.body_md5 ?? '', md5Hex(body))) {
    throw new HTTPException(401, { message: 'Invalid body_md5: it must be the hex MD5 of the request body' });
  }
  if (!constantTimeEqual(params.auth_signature!, requestSignature(app.secret, method, url.pathname, params))) {
    throw new HTTPException(401, { message: 'Invalid auth_signature: check the app secret' });
  }
}

function channelOf(c: Context<ApiEnv>, channel: string) {
  return { stub: channelObject(c.env, c.var.app.id, channel), target: { appId: c.var.app.id, channel } };
}

function infoList(info: unknown): string[] {
  return typeof info === 'string' && info.length > 0 ? info.split(',').map((item) => item.trim()) : [];
}

const KNOWN_EVENT_INFO = ['user_count', 'subscription_count'];

/** Validates one event of /events or /batch_events; maps rule breaks to 400/413. */
function publishRequest(body: Record<string, unknown>): { request: PublishRequest; info: string[] } {
  const channels = body.channels ?? (body.channel === undefined ? undefined : [body.channel]);
  const info = infoList(body.info);
  const unknown = info.find((item) => !KNOWN_EVENT_INFO.includes(item));
  if (unknown) throw new HTTPException(400, { message: `Unknown info attribute '${unknown}' (use user_count, subscription_count)` });
  // A PublishError answers with its own status (400 or 413) through the app's one error path.
  return { request: validatePublish({ channels, name: body.name, data: body.data, socketId: body.socket_id }), info };
}

const eventBody = z.record(z.string(), z.unknown(), { error: 'expected a JSON object {name, data, channels}' });
const batchBody = z.object(
  { batch: z.array(z.record(z.string(), z.unknown()), { error: 'expected an array of {channel, name, data}' }) },
  { error: 'expected {"batch": [{channel, name, data}, ...]}' },
);

realtimeHttpApi.post('/apps/:appId/events', async (c) => {
  const { request, info } = publishRequest(parseJsonText(c.var.body, eventBody, 'request body'));
  const [result] = await publishEvents(c.env, c.var.app, [request], info);
  return c.json(info.length > 0 ? { channels: result } : {});
});

realtimeHttpApi.post('/apps/:appId/batch_events', async (c) => {
  const { batch } = parseJsonText(c.var.body, batchBody, 'request body');
  if (batch.length > Limits.eventsPerBatch) {
    throw new HTTPException(400, { message: `Batch too large: ${batch.length} events (at most ${Limits.eventsPerBatch})` });
  }
  const events = batch.map((event) => publishRequest(event));
  const allInfo = [...new Set(events.flatMap((event) => event.info))];
  const results = await publishEvents(
    c.env,
    c.var.app,
    events.map((event) => event.request),
    allInfo,
  );
  if (allInfo.length === 0) return c.json({});
  // Each batch item reports what it asked for of its one channel ({} when it asked for nothing).
  return c.json({
    batch: results.map((result, index) => {
      const attributes = Object.entries(Object.values(result)[0] ?? {});
      return Object.fromEntries(attributes.filter(([name]) => events[index]!.info.includes(name)));
    }),
  });
});

realtimeHttpApi.get('/apps/:appId/channels', async (c) => {
  const prefix = c.req.query('filter_by_prefix') ?? '';
  const info = infoList(c.req.query('info'));
  const unknown = info.find((item) => item !== 'user_count');
  if (unknown) throw new HTTPException(400, { message: `Unknown info attribute '${unknown}' (only user_count)` });
  if (info.includes('user_count') && !prefix.startsWith('presence-')) {
    throw new HTTPException(400, { message: 'info=user_count needs filter_by_prefix=presence-' });
  }
  const { app } = c.var;
  // Each shard knows the channels of its sockets; presence counts come from the channels' objects.
  const perShard = await Promise.all(Array.from({ length: app.shards }, (_, shard) => shardObject(c.env, app.id, shard).channels(prefix)));
  const names = [...new Set(perShard.flat())].sort();
  const withUserCount = info.includes('user_count');
  const entries = await Promise.all(
    names.map(async (name): Promise<[string, { user_count?: number }]> => {
      if (!withUserCount) return [name, {}];
      const { stub, target } = channelOf(c, name);
      const { user_count } = await stub.info(target, ['user_count']);
      return [name, { user_count: user_count ?? 0 }];
    }),
  );
  return c.json({ channels: Object.fromEntries(entries) });
});

function channelParam(c: Context<ApiEnv>): string {
  const channel = c.req.param('channel') ?? '';
  const problem = channelNameProblem(channel);
  if (problem) throw new HTTPException(400, { message: problem });
  return channel;
}

realtimeHttpApi.get('/apps/:appId/channels/:channel', async (c) => {
  const channel = channelParam(c);
  const info = infoList(c.req.query('info'));
  const unknown = info.find((item) => !['user_count', 'subscription_count', 'cache'].includes(item));
  if (unknown) throw new HTTPException(400, { message: `Unknown info attribute '${unknown}' (use user_count, subscription_count, cache)` });
  if (info.includes('user_count') && !channelKind(channel).presence) {
    throw new HTTPException(400, { message: `info=user_count is only for presence channels, not '${channel}'` });
  }
  if (info.includes('cache') && !channelKind(channel).cache) {
    throw new HTTPException(400, { message: `info=cache is only for cache channels, not '${channel}'` });
  }
  const { stub, target } = channelOf(c, channel);
  return c.json(await stub.info(target, info));
});

realtimeHttpApi.get('/apps/:appId/channels/:channel/users', async (c) => {
  const channel = channelParam(c);
  if (!channelKind(channel).presence) throw new HTTPException(400, { message: `'${channel}' is not a presence channel` });
  const { stub, target } = channelOf(c, channel);
  return c.json({ users: await stub.users(target) });
});

realtimeHttpApi.post('/apps/:appId/users/:userId/terminate_connections', async (c) => {
  const userId = c.req.param('userId');
  if (userId.length === 0 || userId.length > Limits.userIdLength)
    throw new HTTPException(400, { message: `Invalid user id '${userId.slice(0, 200)}'` });
  const { stub, target } = channelOf(c, serverToUserChannel(userId));
  await stub.terminate(target);
  return c.json({});
});

realtimeHttpApi.all('/apps/:appId/*', (c) => {
  throw new HTTPException(404, { message: `Not found: ${c.req.method} ${new URL(c.req.url).pathname}` });
});
