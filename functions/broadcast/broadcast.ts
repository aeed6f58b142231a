/**
 * `broadcast()`: publishes an event through the configured broadcaster, or through the fake
 * while a test has called {@link fakeBroadcasting}.
 *
 * @example
 * await broadcast(c.env, EmailUpdated.to({ recipient_id }, { id, read_at }), { toOthers: c.req.raw });
 */
import { type Config, loadConfig } from '../config.ts';
import type { RealtimeBindings } from '../realtime/placement.ts';
import { decodeAblySocketId } from './ably-rules.ts';
import type { Broadcaster, PublishRequest } from './broadcaster.ts';
import { AblyBroadcaster, ablyRest } from './drivers/ably.ts';
import { BroadcastFake } from './drivers/fake.ts';
import { LogBroadcaster } from './drivers/log.ts';
import { NullBroadcaster } from './drivers/null.ts';
import { PusherBroadcaster, pusherClient } from './drivers/pusher.ts';
import { RealtimeBroadcaster, realtimePublish } from './drivers/realtime.ts';
import type { BroadcastMessage } from './events.ts';
import { SOCKET_ID } from './pusher-rules.ts';

/** The broadcaster BROADCAST_DRIVER names. */
export function broadcasterFor(config: Config, env: RealtimeBindings): Broadcaster {
  switch (config.broadcastDriver) {
    case 'pusher':
      return new PusherBroadcaster(pusherClient(config));
    case 'realtime':
      return new RealtimeBroadcaster(realtimePublish(env, config.pusher.appId));
    case 'ably':
      return new AblyBroadcaster(ablyRest(config));
    case 'log':
      return new LogBroadcaster();
    case 'null':
      return new NullBroadcaster();
  }
}

let fake: BroadcastFake | undefined;

/** Swaps every broadcaster for a {@link BroadcastFake} until {@link restoreBroadcasting} (Laravel's `Broadcast::fake()`). */
export function fakeBroadcasting(): BroadcastFake {
  fake = new BroadcastFake();
  return fake;
}

/** Ends {@link fakeBroadcasting}: events go to the configured broadcaster again. */
export function restoreBroadcasting(): void {
  fake = undefined;
}

/** The broadcaster in use: the fake during a test, otherwise the one BROADCAST_DRIVER names. */
export function currentBroadcaster(env: Env): Broadcaster {
  return fake ?? broadcasterFor(loadConfig(env), env);
}

/**
 * Whether `socketId` is one a client sends: pusher-js's `123.456`, or @ably/laravel-echo's base64url
 * `{connectionKey, clientId}`. Each broadcaster uses the kind it knows and ignores the other.
 */
export function isSocketId(socketId: string): boolean {
  return SOCKET_ID.test(socketId) || decodeAblySocketId(socketId) !== null;
}

/**
 * The `X-Socket-ID` header pusher-js and Laravel Echo send (Echo adds it to every request), when it
 * is a well-formed socket id; a malformed one is ignored rather than passed to the broadcaster.
 */
export function socketIdOf(request: Request): string | undefined {
  const socketId = request.headers.get('X-Socket-ID')?.trim();
  return socketId && isSocketId(socketId) ? socketId : undefined;
}

export interface BroadcastOptions {
  /** Leave out the connection that made this request (its `X-Socket-ID`), or this socket id. */
  toOthers?: Request | string;
  /** Publish through this broadcaster instead of the configured one (the fake still wins in tests). */
  via?: Broadcaster;
}

/** The request a broadcaster publishes for `message`. */
function requestFor(message: BroadcastMessage, socketId?: string): PublishRequest {
  return { channels: message.channels, name: message.event.name, data: JSON.stringify(message.data), ...(socketId ? { socketId } : {}) };
}

/**
 * Publishes several messages in order, in as few calls as the broadcaster allows (one RPC to the
 * realtime server, ten events per Pusher batch call, 100 channels per Ably batch publish).
 * @throws BatchPublishError saying how many were published before a failure.
 */
export async function broadcastBatch(env: Env, messages: BroadcastMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await (fake ?? currentBroadcaster(env)).publishBatch(messages.map((message) => requestFor(message)));
}

/** Publishes `message`; resolves once the broadcaster accepted it. */
export async function broadcast(env: Env, message: BroadcastMessage, options: BroadcastOptions = {}): Promise<void> {
  const socketId =
    typeof options.toOthers === 'string'
      ? isSocketId(options.toOthers)
        ? options.toOthers
        : undefined
      : options.toOthers
        ? socketIdOf(options.toOthers)
        : undefined;
  await (fake ?? options.via ?? currentBroadcaster(env)).publish(requestFor(message, socketId));
}
