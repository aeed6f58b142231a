import { exports } from 'cloudflare:workers';
import { Hono } from 'hono';
import { describe, expect, it, vi } from 'vitest';
import { InvalidTokenError, SigningKeysUnavailableError } from '../../../functions/auth/jwt.ts';
import { PublishFailed } from '../../../functions/broadcast/delivery.ts';
import { ConfigError } from '../../../functions/config.ts';
import { DatabaseUnavailableError } from '../../../functions/data/client.ts';
import { SenderRemovedError, UnknownRecipientsError } from '../../../functions/data/emails.ts';
import { ReplayRefusedError } from '../../../functions/data/outbox.ts';
import type { AppEnv } from '../../../functions/env.ts';
import { onError } from '../../../functions/http/errors.ts';
import { WebhookRefused } from '../../../functions/observe/signature.ts';
import { PublishError } from '../../../functions/realtime/publishing.ts';

/** An app whose one route throws `error`, answered by the app's one error path. */
async function answerTo(error: unknown): Promise<{ status: number; body: unknown }> {
  const app = new Hono<AppEnv>().get('/', () => {
    throw error;
  });
  app.onError(onError);
  const response = await app.request('/', {}, { LOG_LEVEL: 'error' } as Env);
  return { status: response.status, body: await response.json() };
}

describe('the one error path', () => {
  it.each([
    [
      new ConfigError('X is not set: run "wrangler secret put X"'),
      500,
      'The server is misconfigured: X is not set: run "wrangler secret put X"',
    ],
    [new InvalidTokenError('The access token has expired'), 401, 'The access token has expired'],
    [new SigningKeysUnavailableError('The signing keys could not be fetched'), 503, 'The signing keys could not be fetched'],
    [
      new DatabaseUnavailableError('The database cannot be reached (x); try again shortly'),
      503,
      'The database cannot be reached (x); try again shortly',
    ],
    [new WebhookRefused('The signature does not match'), 401, 'The signature does not match'],
    [new PublishFailed('Publishing email.received for 1 failed: down'), 502, 'Publishing email.received for 1 failed: down'],
    [new PublishError(413, 'Event data too large: 10241 bytes (at most 10240)'), 413, 'Event data too large: 10241 bytes (at most 10240)'],
    [
      new SenderRemovedError('Your profile was removed while sending; nothing was sent'),
      409,
      'Your profile was removed while sending; nothing was sent',
    ],
  ])('answers %s with its status and message', async (error, status, message) => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await answerTo(error)).toEqual({ status, body: { error: message } });
    } finally {
      errors.mockRestore();
    }
  });

  it('answers unknown recipients with a 422 that lists each under recipient_ids, as a validation failure lists fields', async () => {
    expect(await answerTo(new UnknownRecipientsError(['a', 'b']))).toEqual({
      status: 422,
      body: {
        error: 'Unknown recipient(s): a, b',
        issues: [
          { path: 'recipient_ids', message: 'No user has the id a (any more).', value: 'a' },
          { path: 'recipient_ids', message: 'No user has the id b (any more).', value: 'b' },
        ],
      },
    });
  });

  it('answers a refused replay with a 422 naming each id and why, and the ids as lists a script can read', async () => {
    expect(await answerTo(new ReplayRefusedError({ notFound: [99, 100], pending: [7], delivered: [3] }))).toEqual({
      status: 422,
      body: {
        error:
          'Nothing was replayed (only failed entries can be): no outbox entry has the ids 99, 100; entry 7 is still pending; entry 3 was delivered',
        issues: [
          {
            path: 'ids',
            message: 'No outbox entry has the id 99 (mistyped, or delivered and deleted after the retention period).',
            value: 99,
          },
          {
            path: 'ids',
            message: 'No outbox entry has the id 100 (mistyped, or delivered and deleted after the retention period).',
            value: 100,
          },
          { path: 'ids', message: 'Outbox entry 7 is pending, not failed: delivery or the redelivery cron sends it.', value: 7 },
          { path: 'ids', message: 'Outbox entry 3 was delivered: there is nothing to replay.', value: 3 },
        ],
        not_found: [99, 100],
        not_failed: [3, 7],
      },
    });
    expect((await answerTo(new ReplayRefusedError({ notFound: [], pending: [7, 8], delivered: [] }))).body).toMatchObject({
      error: 'Nothing was replayed (only failed entries can be): entries 7, 8 are still pending',
      not_found: [],
      not_failed: [7, 8],
    });
  });

  it('answers anything unexpected with a generic 500 and logs it, leaking no detail', async () => {
    const lines: string[] = [];
    const errors = vi.spyOn(console, 'error').mockImplementation((line: unknown) => void lines.push(String(line)));
    try {
      expect(await answerTo(new TypeError('secret detail at line 42'))).toEqual({ status: 500, body: { error: 'Internal server error' } });
      expect(lines.some((line) => line.includes('unhandled error') && line.includes('secret detail'))).toBe(true);
    } finally {
      errors.mockRestore();
    }
  });

  it('logs a misconfiguration for the operator, once per request', async () => {
    const lines: string[] = [];
    const errors = vi.spyOn(console, 'error').mockImplementation((line: unknown) => void lines.push(String(line)));
    try {
      await answerTo(new ConfigError('Y is not set'));
      expect(lines.map((line) => JSON.parse(line) as { msg: string; error: string })).toEqual([
        expect.objectContaining({ msg: 'configuration error', error: 'The server is misconfigured: Y is not set' }),
      ]);
    } finally {
      errors.mockRestore();
    }
  });

  it('is the error path of the Worker itself', async () => {
    const response = await exports.default.fetch('http://tidings.test/api/nothing-here');
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'Not found: GET /api/nothing-here' });
  });
});
