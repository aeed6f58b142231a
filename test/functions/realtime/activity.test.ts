import { describe, expect, it } from 'vitest';
import { activityVerdict, noteActivity } from '../../../functions/realtime/activity.ts';
import { newConnectionState } from '../../../functions/realtime/connection.ts';

describe('activity', () => {
  it('pings after the activity timeout and closes when the pong does not come', () => {
    const state = newConnectionState('1.1', 0);
    expect(activityVerdict(state, 0, 29_000, 30_000)).toBe('ok');
    expect(activityVerdict(state, 0, 30_000, 30_000)).toBe('ping');
    state.pingSentAt = 30_000;
    expect(activityVerdict(state, 0, 40_000, 30_000)).toBe('ok');
    expect(activityVerdict(state, 0, 60_000, 30_000)).toBe('close');
    expect(activityVerdict(state, 45_000, 60_000, 30_000)).toBe('ok');
  });

  it('rewrites the attachment on traffic only every few seconds, or when a ping was pending', () => {
    const state = newConnectionState('1.1', 0);
    expect(noteActivity(state, 1_000)).toBe(false);
    expect(noteActivity(state, 7_000)).toBe(true);
    state.pingSentAt = 7_500;
    expect(noteActivity(state, 8_000)).toBe(true);
    expect(state).toMatchObject({ lastSeenAt: 8_000, pingSentAt: null });
  });
});
