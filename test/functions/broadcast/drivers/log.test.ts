import { describe, expect, it, vi } from 'vitest';
import { LogBroadcaster } from '../../../../functions/broadcast/drivers/log.ts';

describe('the log broadcaster', () => {
  it('writes the event as one JSON line', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await new LogBroadcaster().publish({ channels: ['private-user.a'], name: 'email.deleted', data: '{"id":"a"}' });
      expect(JSON.parse(log.mock.calls[0]![0] as string)).toMatchObject({
        msg: 'broadcast',
        event: 'email.deleted',
        channels: ['private-user.a'],
      });
    } finally {
      log.mockRestore();
    }
  });
});
