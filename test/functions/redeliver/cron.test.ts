import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import worker from '../../../functions/index.ts';
import { redeliver } from '../../../functions/redeliver/cron.ts';
import { envWith } from '../../support/workerd/env.ts';

function captureLogs() {
  const lines: Array<Record<string, unknown>> = [];
  const capture = (line: unknown) => {
    try {
      lines.push(JSON.parse(String(line)) as Record<string, unknown>);
    } catch {
      // not one of ours
    }
  };
  const log = vi.spyOn(console, 'log').mockImplementation(capture);
  const error = vi.spyOn(console, 'error').mockImplementation(capture);
  return {
    lines,
    restore: () => {
      log.mockRestore();
      error.mockRestore();
    },
  };
}

describe('the redelivery cron', () => {
  it('logs the fix and does not throw when a secret is missing', async () => {
    const logs = captureLogs();
    try {
      expect(await redeliver({ cron: '* * * * *' }, envWith({ SUPABASE_SERVICE_ROLE_KEY: '' }))).toBeNull();
      expect(logs.lines).toContainEqual(
        expect.objectContaining({
          level: 'error',
          msg: 'redelivery run failed',
          error:
            'The server is misconfigured: SUPABASE_SERVICE_ROLE_KEY is not set: run "wrangler secret put SUPABASE_SERVICE_ROLE_KEY" or add it to .dev.vars',
        }),
      );
    } finally {
      logs.restore();
    }
  });

  it('logs a database outage and leaves the entries for the next run', async () => {
    const logs = captureLogs();
    try {
      expect(await redeliver({ cron: '* * * * *' }, envWith({ SUPABASE_URL: 'http://127.0.0.1:9' }))).toBeNull();
      expect(logs.lines).toContainEqual(
        expect.objectContaining({ msg: 'redelivery run failed', error: expect.stringMatching(/^The database cannot be reached/) }),
      );
    } finally {
      logs.restore();
    }
  });

  it('runs from the Worker’s scheduled handler', async () => {
    const logs = captureLogs();
    try {
      const ctx = createExecutionContext();
      await worker.scheduled(createScheduledController({ cron: '* * * * *' }), envWith({ SUPABASE_URL: 'http://127.0.0.1:9' }), ctx);
      await waitOnExecutionContext(ctx);
      expect(logs.lines).toContainEqual(expect.objectContaining({ msg: 'redelivery run failed', cron: '* * * * *' }));
    } finally {
      logs.restore();
    }
  });
});
