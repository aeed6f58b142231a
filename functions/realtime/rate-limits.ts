/**
 * Per-second rate limits (client events, subscribe requests): a window counts what one connection,
 * or one user, did in the current second. Over the limit an action is refused and the connection
 * kept, since a burst can be honest (a reconnect resubscribes every channel at once); five times
 * the limit in one second is a flood, and the connection is closed.
 */

/** What one connection or user did in the current second. */
export interface RateWindow {
  second: number;
  count: number;
}

export type RateVerdict = 'allow' | 'reject' | 'close';

/** Counts one action against `limit` per second. */
export function takeInSecond(window: RateWindow, now: number, limit: number): RateVerdict {
  const second = Math.floor(now / 1000);
  if (window.second !== second) {
    window.second = second;
    window.count = 0;
  }
  window.count += 1;
  if (window.count <= limit) return 'allow';
  return window.count > limit * 5 ? 'close' : 'reject';
}
