import { Limits } from './protocol.ts';

/**
 * What the server knows about one WebSocket connection. It lives in the socket's attachment
 * (`serializeAttachment`, at most 2 KB), so it survives hibernation and eviction; channel
 * membership lives with the channels (see channels.ts), not here.
 */
export interface ConnectionState {
  socketId: string;
  connectedAt: number;
  /** Last time (ms) the client sent anything; refreshed in the attachment at most every few seconds. */
  lastSeenAt: number;
  /** When the server pinged an idle client and still waits for its pong. */
  pingSentAt: number | null;
  /** The user id after a successful `pusher:signin`. */
  userId: string | null;
  /** Client-event rate window: the second it counts, and how many were sent in it (memory only). */
  clientEventSecond: number;
  clientEventCount: number;
}

/** A live socket with its state. */
export interface Connection {
  ws: WebSocket;
  state: ConnectionState;
}

/** The state of a connection that has just been accepted. */
export function newConnectionState(socketId: string, now: number): ConnectionState {
  return { socketId, connectedAt: now, lastSeenAt: now, pingSentAt: null, userId: null, clientEventSecond: 0, clientEventCount: 0 };
}

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

/** What the inactivity check should do with a connection right now. */
export type ActivityVerdict = 'ok' | 'ping' | 'close';

/**
 * A client silent for the activity timeout gets a ping; if it then stays silent for another
 * timeout it is closed with 4201. `lastSeenAt` includes pings the runtime answered on our behalf.
 */
export function activityVerdict(state: ConnectionState, lastSeenAt: number, now: number, timeoutMs: number): ActivityVerdict {
  if (state.pingSentAt !== null && lastSeenAt < state.pingSentAt) {
    return now - state.pingSentAt >= timeoutMs ? 'close' : 'ok';
  }
  return now - lastSeenAt >= timeoutMs ? 'ping' : 'ok';
}
