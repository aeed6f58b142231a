/**
 * Publishing on the realtime server: the checks every event passes (Pusher's limits), and the
 * route it takes. With one shard the event goes straight to it, since it holds every socket; with
 * several it goes to each channel's object, which fans out to the shards that hold subscribers.
 * Channels are published in parallel, the events of one channel in order.
 */
import type { PublishRequest } from '../broadcast/broadcaster.ts';
import { byteLength, channelNameProblem, eventNameProblem, Limits, socketIdProblem } from '../broadcast/pusher-rules.ts';
import type { RealtimeApp } from './apps.ts';
import type { ChannelCounts } from './channel.ts';
import { channelObject, type RealtimeBindings, shardObject } from './placement.ts';

export type { PublishRequest };

/** Per-channel counts returned by a publish that asked for `info`. */
export type PublishInfo = Record<string, ChannelCounts>;

/** A publish that breaks a rule; `status` is what the HTTP API answers (400 or 413). */
export class PublishError extends Error {
  override name = 'PublishError';
  readonly status: 400 | 413;

  constructor(status: 400 | 413, message: string) {
    super(message);
    this.status = status;
  }
}

/** Checks a publish request against Pusher's limits and returns it typed; throws a PublishError quoting the problem. */
export function validatePublish(request: unknown): PublishRequest {
  if (typeof request !== 'object' || request === null)
    throw new PublishError(400, 'Invalid event: expected an object with channels, name and data');
  const { channels, name, data, socketId } = request as Record<string, unknown>;
  const nameProblem = eventNameProblem(name);
  if (nameProblem) throw new PublishError(400, nameProblem);
  if (typeof data !== 'string')
    throw new PublishError(400, `Invalid data for event '${String(name)}': expected a string (JSON-encode objects)`);
  const size = byteLength(data);
  if (size > Limits.eventDataBytes) {
    throw new PublishError(413, `Event data too large: ${size} bytes (at most ${Limits.eventDataBytes})`);
  }
  if (!Array.isArray(channels) || channels.length === 0) throw new PublishError(400, 'Invalid channels: expected 1 to 100 channel names');
  if (channels.length > Limits.channelsPerEvent) {
    throw new PublishError(400, `Too many channels: ${channels.length} (at most ${Limits.channelsPerEvent} per event)`);
  }
  for (const channel of channels) {
    const problem = channelNameProblem(channel, true);
    if (problem) throw new PublishError(400, problem);
  }
  if (socketId !== undefined && socketId !== null) {
    const problem = socketIdProblem(socketId);
    if (problem) throw new PublishError(400, problem);
  }
  return {
    channels: [...new Set(channels as string[])],
    name: name as string,
    data,
    ...(typeof socketId === 'string' ? { socketId } : {}),
  };
}

/**
 * Publishes checked events (see {@link validatePublish}) and reports `info` (user_count,
 * subscription_count) per channel of each event when asked.
 */
export async function publishEvents(
  env: RealtimeBindings,
  app: RealtimeApp,
  requests: PublishRequest[],
  info: readonly string[] = [],
): Promise<PublishInfo[]> {
  if (requests.length === 0) return [];
  if (app.shards === 1) return shardObject(env, app.id, 0).publish(app.id, requests, info);
  const results: PublishInfo[] = requests.map(() => ({}));
  const byChannel = new Map<string, number[]>();
  for (const [index, request] of requests.entries()) {
    for (const channel of request.channels) {
      const indexes = byChannel.get(channel);
      if (indexes) indexes.push(index);
      else byChannel.set(channel, [index]);
    }
  }
  await Promise.all(
    [...byChannel].map(async ([channel, indexes]) => {
      const stub = channelObject(env, app.id, channel);
      for (const index of indexes) {
        const { name, data, socketId } = requests[index]!;
        const counts = await stub.publish({ appId: app.id, channel }, { name, data, ...(socketId ? { socketId } : {}) }, info);
        if (info.length > 0) results[index]![channel] = counts;
      }
    }),
  );
  return results;
}
