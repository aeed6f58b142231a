/**
 * Client events (`client-*`): only on private and presence channels the sender has joined, never
 * echoed to the sender, rate-limited per connection, and carrying `user_id` on presence channels
 * (the channel object adds it, since it knows the member).
 */
import { byteLength, channelKind, channelNameProblem, Limits } from '../broadcast/pusher-rules.ts';
import type { Connection, ConnectionState } from './connection.ts';
import { type ClientMessage, CloseCode, frame } from './frames.ts';
import type { ShardContext } from './shard-context.ts';

/** What to do with a client event under the rate limit. */
export type ClientEventVerdict = 'send' | 'reject' | 'close';

/**
 * Counts one client event against the limit of 10 per second. Events over it are rejected (the
 * sender gets `pusher:error` 4301 and keeps its connection, as a typing indicator may burst); a
 * connection sending five times the limit in one second is flooding and is closed with 4301.
 */
export function takeClientEvent(state: ConnectionState, now: number): ClientEventVerdict {
  const second = Math.floor(now / 1000);
  if (state.clientEventSecond !== second) {
    state.clientEventSecond = second;
    state.clientEventCount = 0;
  }
  state.clientEventCount += 1;
  if (state.clientEventCount <= Limits.clientEventsPerSecond) return 'send';
  return state.clientEventCount > Limits.clientEventsPerSecond * 5 ? 'close' : 'reject';
}

/** Checks a client event and hands it to the channel object, which fans it out and queues its webhook. */
export async function clientEvent(ctx: ShardContext, connection: Connection, message: ClientMessage): Promise<void> {
  const { state } = connection;
  if (!ctx.app.clientEvents) {
    ctx.send(connection, frame.error('Client events are not enabled for this app (set REALTIME_CLIENT_EVENTS=true)'));
    return;
  }
  const channel = message.channel;
  if (typeof channel !== 'string' || channelNameProblem(channel) || !channelKind(channel).authorized) {
    ctx.send(
      connection,
      frame.error(`Client events are allowed only on private and presence channels, not '${String(channel).slice(0, 200)}'`),
    );
    return;
  }
  if (!ctx.subscriptions.has(channel, state.socketId)) {
    ctx.send(connection, frame.error(`Not subscribed to '${channel}': subscribe before sending client events on it`));
    return;
  }
  const verdict = takeClientEvent(state, Date.now());
  if (verdict === 'reject') {
    ctx.send(
      connection,
      frame.error(`Client event rejected: more than ${Limits.clientEventsPerSecond} per second`, CloseCode.clientEventRateLimit),
    );
    return;
  }
  if (verdict === 'close') {
    ctx.log.info('connection closed: client event flood', { socket_id: state.socketId });
    await ctx.close(
      connection,
      CloseCode.clientEventRateLimit,
      `Client event rate limit exceeded (${Limits.clientEventsPerSecond} per second)`,
    );
    return;
  }
  const rawData = typeof message.data === 'string' ? message.data : JSON.stringify(message.data ?? null);
  if (byteLength(rawData) > Limits.eventDataBytes) {
    ctx.send(connection, frame.error(`Client event data too large: ${byteLength(rawData)} bytes (at most ${Limits.eventDataBytes})`));
    return;
  }
  await ctx
    .channel(channel)
    .clientEvent({ appId: ctx.app.id, channel }, { socketId: state.socketId, name: message.event, data: message.data, rawData });
}
