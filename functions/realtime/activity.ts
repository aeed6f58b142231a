/** Activity: a silent client gets a ping after the activity timeout, and is closed (4201) if it stays silent. */
import type { ConnectionState } from './connection.ts';

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

/** Attachments are refreshed at most this often on traffic, to keep writes off the hot path. */
const LAST_SEEN_REFRESH_MS = 5000;

/**
 * Records that a client sent something. Returns whether the attachment must be rewritten: only
 * every few seconds, or when a ping was pending.
 */
export function noteActivity(state: ConnectionState, now: number): boolean {
  const stale = now - state.lastSeenAt > LAST_SEEN_REFRESH_MS || state.pingSentAt !== null;
  state.lastSeenAt = now;
  state.pingSentAt = null;
  return stale;
}
