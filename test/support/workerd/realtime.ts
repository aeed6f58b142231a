import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import type { PublishRequest } from '../../../functions/broadcast/broadcaster.ts';
import { loadApps, type RealtimeApp } from '../../../functions/realtime/apps.ts';
import type { ConnectionState } from '../../../functions/realtime/connection.ts';
import { channelObject, shardObject } from '../../../functions/realtime/placement.ts';
import { publishEvents, validatePublish } from '../../../functions/realtime/publishing.ts';
import { channelAuth } from '../../../functions/realtime/signatures.ts';
import type { Frame, RawClient } from './realtime-client.ts';

/** A realtime app of the test bindings (the default app unless named). */
export function realtimeApp(appId: string = env.PUSHER_APP_ID): RealtimeApp {
  const app = loadApps(env).byId(appId);
  if (!app) throw new Error(`No realtime app '${appId}' in the test bindings`);
  return app;
}

/** The shard count this run uses (REALTIME_SHARDS of the vitest project). */
export const shardCount = realtimeApp().shards;

/** Connection shard `index` of an app. */
export function shard(index: number, appId: string = env.PUSHER_APP_ID) {
  return shardObject(env, appId, index);
}

/** The object of a channel, and the target its calls name. */
export function channel(name: string, appId: string = env.PUSHER_APP_ID) {
  return { stub: channelObject(env, appId, name), target: { appId, channel: name } };
}

/** What a Durable Object stores: its SQLite tables (indexes included), the database's size and its alarm. */
export interface StoredData {
  tables: string[];
  bytes: number;
  alarm: number | null;
}

/** What the object behind `stub` stores now (reading it stores nothing). */
export function storedData(stub: DurableObjectStub): Promise<StoredData> {
  return runInDurableObject(stub, async (_instance, state) => ({
    tables: state.storage.sql
      .exec<{ name: string }>('select name from sqlite_master')
      .toArray()
      .map((row) => row.name),
    bytes: state.storage.sql.databaseSize,
    alarm: await state.storage.getAlarm(),
  }));
}

/**
 * What an object stores when it stores nothing: no table, no alarm, and a database the size of an
 * empty one (measured on an object of a channel nobody ever used, since the size is the runtime's).
 */
export async function nothingStored(): Promise<StoredData> {
  const { bytes } = await storedData(channel(`never-used-${crypto.randomUUID()}`).stub);
  return { tables: [], bytes, alarm: null };
}

/** Publishes as the HTTP API and the broadcaster do (checked, then routed by the shard count). */
export async function publish(request: PublishRequest, appId: string = env.PUSHER_APP_ID): Promise<void> {
  await publishEvents(env, realtimeApp(appId), [validatePublish(request)]);
}

/** The shard that holds a socket. */
export async function shardOf(socketId: string, appId: string = env.PUSHER_APP_ID): Promise<number> {
  const app = realtimeApp(appId);
  for (let index = 0; index < app.shards; index++) {
    const found = await runInDurableObject(shard(index, appId), (_instance, state) =>
      state.getWebSockets().some((ws) => (ws.deserializeAttachment() as ConnectionState | null)?.socketId === socketId),
    );
    if (found) return index;
  }
  throw new Error(`No shard of app '${appId}' holds socket ${socketId}`);
}

/**
 * `count` clients on pairwise different shards when the app has that many (placement is random, so
 * this connects until it has them), otherwise on whatever shards they land. Extra connections are closed.
 */
export async function clientsOnDistinctShards(
  connect: () => Promise<RawClient>,
  count: number,
  appId: string = env.PUSHER_APP_ID,
): Promise<RawClient[]> {
  const app = realtimeApp(appId);
  const chosen: RawClient[] = [];
  const used = new Set<number>();
  for (let attempt = 0; chosen.length < count && attempt < 200; attempt++) {
    const client = await connect();
    const index = await shardOf(await client.socketId(), appId);
    if (app.shards >= count && used.has(index)) {
      client.close();
      continue;
    }
    used.add(index);
    chosen.push(client);
  }
  if (chosen.length < count) throw new Error(`Could not place ${count} clients on distinct shards`);
  return chosen;
}

/** Subscribes a raw client (signing private and presence channels) and waits for subscription_succeeded, which it returns. */
export async function subscribe(
  client: RawClient,
  name: string,
  options: { channelData?: string; app?: { key: string; secret: string } } = {},
): Promise<Frame> {
  const app = options.app ?? { key: env.PUSHER_APP_KEY, secret: env.PUSHER_APP_SECRET };
  const socketId = await client.socketId();
  const needsAuth = name.startsWith('private-') || name.startsWith('presence-');
  const auth = needsAuth ? channelAuth(app.key, app.secret, socketId, name, options.channelData) : undefined;
  client.send({
    event: 'pusher:subscribe',
    data: { channel: name, ...(auth ? { auth } : {}), ...(options.channelData ? { channel_data: options.channelData } : {}) },
  });
  return client.next('pusher_internal:subscription_succeeded', name);
}

/**
 * A client address no other test uses (CF-Connecting-IP), so tests of an app with per-address
 * limits do not share its counts.
 */
export function freshAddress(): string {
  return `198.51.100.${crypto.randomUUID()}`;
}
