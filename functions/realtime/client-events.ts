/**
 * Client events (`client-*`): only on private and presence channels the sender has joined, never
 * echoed to the sender, rate-limited per connection, and carrying `user_id` on presence channels
 * (the channel object adds it, since it knows the member).
 */
import { byteLength, channelKind, channelNameProblem, Limits } from '../broadcast/pusher-rules.ts';
import type { Connection, ConnectionState } from './connection.ts';
import { type ClientMessage, CloseCode, frame } from './frames.ts';
import { type RateVerdict, takeInSecond } from './rate-limits.ts';
import type { ShardContext } from './shard-context.ts';

/**
 * Counts one client event against the limit of 10 per second per connection (see rate-limits.ts):
 * over it the sender gets `pusher:error` 4301 and keeps its connection (a typing indicator may
 * burst); five times the limit in one second closes it with 4301.
 */
export function takeClientEvent(state: ConnectionState, now: number): RateVerdict {
  return takeInSecond(state.clientEvents, now, Limits.clientEventsPerSecond);
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
  if (channelKind(channel).encrypted) {
    // As Pusher: the server cannot read end-to-end encrypted events, so it does not relay them.
    ctx.send(connection, frame.error(`Client events are not allowed on encrypted channels ('${channel}')`));
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
  // The channel object gets JSON text, never the parsed value: a deeply nested value never has to
  // cross an RPC, and the frame is built without parsing it again.
  const dataJson = JSON.stringify(message.data ?? null);
  const rawData = typeof message.data === 'string' ? message.data : dataJson;
  if (byteLength(rawData) > Limits.eventDataBytes) {
    ctx.send(connection, frame.error(`Client event data too large: ${byteLength(rawData)} bytes (at most ${Limits.eventDataBytes})`));
    return;
  }
  const accepted = await ctx
    .channel(channel)
    .clientEvent({ appId: ctx.app.id, channel }, { socketId: state.socketId, name: message.event, dataJson, rawData });
  if (!accepted) {
    ctx.send(
      connection,
      frame.error(
        `Client event rejected: this user sent more than ${Limits.clientEventsPerSecond} per second on '${channel}'`,
        CloseCode.clientEventRateLimit,
      ),
    );
  }
}
