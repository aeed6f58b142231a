import { describe, expect, it } from 'vitest';
import { takeClientEvent } from '../../../functions/realtime/client-events.ts';
import { newConnectionState } from '../../../functions/realtime/connection.ts';

describe('client event rate limit', () => {
  it('allows 10 client events per second, rejects more, and closes a flood of over 50', () => {
    const state = newConnectionState('1.1', 0);
    const verdicts = Array.from({ length: 51 }, () => takeClientEvent(state, 5_000));
    expect(verdicts.slice(0, 10).every((v) => v === 'send')).toBe(true);
    expect(verdicts.slice(10, 50).every((v) => v === 'reject')).toBe(true);
    expect(verdicts[50]).toBe('close');
    expect(takeClientEvent(state, 6_000)).toBe('send');
  });
});
