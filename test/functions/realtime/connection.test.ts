import { describe, expect, it } from 'vitest';
import { activityVerdict, newConnectionState, takeClientEvent } from '../../../functions/realtime/connection.ts';

describe('connection rules', () => {
  it('allows 10 client events per second, rejects more, and closes a flood of over 50', () => {
    const state = newConnectionState('1.1', 0);
    const verdicts = Array.from({ length: 51 }, () => takeClientEvent(state, 5_000));
    expect(verdicts.slice(0, 10).every((v) => v === 'send')).toBe(true);
    expect(verdicts.slice(10, 50).every((v) => v === 'reject')).toBe(true);
    expect(verdicts[50]).toBe('close');
    expect(takeClientEvent(state, 6_000)).toBe('send');
  });

  it('pings after the activity timeout and closes when the pong does not come', () => {
    const state = newConnectionState('1.1', 0);
    expect(activityVerdict(state, 0, 29_000, 30_000)).toBe('ok');
    expect(activityVerdict(state, 0, 30_000, 30_000)).toBe('ping');
    state.pingSentAt = 30_000;
    expect(activityVerdict(state, 0, 40_000, 30_000)).toBe('ok');
    expect(activityVerdict(state, 0, 60_000, 30_000)).toBe('close');
    expect(activityVerdict(state, 45_000, 60_000, 30_000)).toBe('ok');
  });
});
