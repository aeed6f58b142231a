/**
 * One WebSocket connection of a shard. Its state lives in the socket's attachment
 * (`serializeAttachment`, at most 2 KB), so it survives hibernation and eviction; its channels live
 * in the shard's subscriptions (subscriptions.ts), not here.
 */
import { UNKNOWN_ADDRESS } from './admission.ts';
import type { RateWindow } from './rate-limits.ts';

export interface ConnectionState {
  socketId: string;
  /** The client address it came from (for the per-address limits). */
  address: string;
  connectedAt: number;
  /** Last time (ms) the client sent anything; refreshed in the attachment at most every few seconds. */
  lastSeenAt: number;
  /** When the server pinged an idle client and still waits for its pong. */
  pingSentAt: number | null;
  /** The user id after a successful `pusher:signin`. */
  userId: string | null;
  /** Client events sent in the current second (see rate-limits.ts). */
  clientEvents: RateWindow;
  /** Subscribe requests made in the current second. */
  subscribes: RateWindow;
}

/** A live socket with its state. */
export interface Connection {
  ws: WebSocket;
  state: ConnectionState;
}

/** The state of a connection that has just been accepted. */
export function newConnectionState(socketId: string, now: number, address = UNKNOWN_ADDRESS): ConnectionState {
  return {
    socketId,
    address,
    connectedAt: now,
    lastSeenAt: now,
    pingSentAt: null,
    userId: null,
    clientEvents: { second: 0, count: 0 },
    subscribes: { second: 0, count: 0 },
  };
}
