/**
 * Where an app's realtime state lives: connection shards (sockets), one object per channel
 * (subscribers, presence, cache, webhooks), and one directory per app (the connection count across
 * shards). Names are derived from the app id, so every Worker isolate finds the same objects.
 */
import type { RealtimeApp } from './apps.ts';

/** The Durable Object bindings of the realtime server. */
export type RealtimeBindings = Pick<Env, 'REALTIME_SHARD' | 'REALTIME_CHANNEL' | 'REALTIME_DIRECTORY'>;

/** A shard for a new connection: uniformly at random, which spreads sockets evenly without coordination. */
export function pickShard(app: Pick<RealtimeApp, 'shards'>, random: () => number = Math.random): number {
  return Math.min(app.shards - 1, Math.floor(random() * app.shards));
}

/** Connection shard `index` of an app. */
export function shardObject(env: RealtimeBindings, appId: string, index: number) {
  return env.REALTIME_SHARD.get(env.REALTIME_SHARD.idFromName(`${appId}/shard/${index}`));
}

/** The object of one channel of an app. */
export function channelObject(env: RealtimeBindings, appId: string, channel: string) {
  return env.REALTIME_CHANNEL.get(env.REALTIME_CHANNEL.idFromName(`${appId}/channel/${channel}`));
}

/** The app's directory (connection counts per shard, for the app-wide connection limit). */
export function directoryObject(env: RealtimeBindings, appId: string) {
  return env.REALTIME_DIRECTORY.get(env.REALTIME_DIRECTORY.idFromName(`${appId}/directory`));
}

export type ShardStub = ReturnType<typeof shardObject>;
export type ChannelStub = ReturnType<typeof channelObject>;
