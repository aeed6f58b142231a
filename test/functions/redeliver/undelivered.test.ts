import { describe, expect, it } from 'vitest';
import { EmailReceived } from '../../../functions/broadcast/events.ts';
import { RedeliveryStopped, redeliverUndelivered } from '../../../functions/redeliver/undelivered.ts';
import { failing, secondsAgo, setup } from '../../support/workerd/memory-outbox.ts';
import { announcedEmail, emailRow, outboxEntry } from '../../support/workerd/webhooks.ts';

const options = { graceSeconds: 30, batch: 10, rounds: 1, maxAttempts: 3 };

describe('redelivering pending outbox entries', () => {
  it('publishes entries older than the grace period, oldest first, and settles them in one write', async () => {
    const { outbox, fake, deps } = setup();
    const old = [outboxEntry({ created_at: secondsAgo(90) }), outboxEntry({ created_at: secondsAgo(60) })];
    const young = outboxEntry({ created_at: secondsAgo(5) });
    outbox.add(young, ...old);
    expect(await redeliverUndelivered({ ...deps, ...options })).toEqual({
      claimed: 2,
      published: 2,
      skipped: 0,
      failed: 0,
      retried: 0,
      remaining: false,
    });
    expect(fake.broadcasted(EmailReceived).map((broadcast) => (broadcast.data as { id: string }).id)).toEqual(
      old.map((entry) => entry.row_id),
    );
    expect(outbox.settles).toBe(1);
    expect(outbox.entries.get(young.id)).toMatchObject({ delivered: false, attempts: 0 });
  });

  it('takes up to rounds batches in one run, and says whether more remain', async () => {
    const { outbox, deps } = setup();
    outbox.add(...Array.from({ length: 25 }, () => outboxEntry({ created_at: secondsAgo(60) })));
    expect(await redeliverUndelivered({ ...deps, ...options, rounds: 2 })).toMatchObject({ published: 20, remaining: true });
    expect(await redeliverUndelivered({ ...deps, ...options, rounds: 2 })).toMatchObject({ published: 5, remaining: false });
    expect(outbox.settles).toBe(3);
  });

  it('keeps the counts of the rounds before an error stopped the run, for the run’s record', async () => {
    const { outbox, deps } = setup();
    outbox.add(...Array.from({ length: 25 }, () => outboxEntry({ created_at: secondsAgo(60) })));
    let claims = 0;
    const flaky = {
      ...outbox,
      claimDue: (grace: number, limit: number, maxAttempts: number) => {
        if (++claims === 2) return Promise.reject(new Error('The database cannot be reached'));
        return outbox.claimDue(grace, limit, maxAttempts);
      },
      claim: outbox.claim.bind(outbox),
      settle: outbox.settle.bind(outbox),
    };
    const error = await redeliverUndelivered({ ...deps, ...options, outbox: flaky, rounds: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedeliveryStopped);
    expect((error as RedeliveryStopped).counts).toMatchObject({ claimed: 10, published: 10, remaining: true });
    expect((error as RedeliveryStopped).cause).toMatchObject({ message: 'The database cannot be reached' });
  });

  it('marks a poison entry failed and delivers the 200 entries after it', async () => {
    const { outbox, fake, deps } = setup();
    const poison = outboxEntry({ created_at: secondsAgo(120), record: announcedEmail(emailRow({ created_at: '-infinity' })) });
    outbox.add(poison, ...Array.from({ length: 200 }, () => outboxEntry({ created_at: secondsAgo(60) })));
    const run = await redeliverUndelivered({ ...deps, ...options, batch: 100, rounds: 5 });
    expect(run).toMatchObject({ claimed: 201, published: 200, failed: 1, remaining: false });
    expect(outbox.entries.get(poison.id)!.failedReason).toMatch(/created_at: not a finite timestamp/);
    fake.assertBroadcastTimes(EmailReceived, 200);
  });

  it('counts an attempt against the entry publishing stopped at, and fails it at the maximum so the rest can go', async () => {
    const { outbox, deps } = setup();
    const first = outboxEntry({ created_at: secondsAgo(90) });
    const second = outboxEntry({ created_at: secondsAgo(60) });
    outbox.add(first, second);
    for (let run = 1; run <= 2; run++) {
      expect(await redeliverUndelivered({ ...deps, ...options, publish: failing })).toMatchObject({
        retried: 1,
        failed: 0,
        remaining: true,
      });
    }
    expect(outbox.entries.get(second.id)).toMatchObject({ attempts: 0, claimed: false });
    expect(await redeliverUndelivered({ ...deps, ...options, publish: failing })).toMatchObject({ retried: 0, failed: 1 });
    expect(outbox.entries.get(first.id)).toMatchObject({ attempts: 3, failedReason: 'gave up after 3 attempts: server down' });
    expect(await redeliverUndelivered({ ...deps, ...options })).toMatchObject({ claimed: 1, published: 1 });
  });
  it('gives up on an entry whose runs ended before settling it, counted at each claim, and publishes the rest', async () => {
    const { outbox, fake, deps } = setup();
    const crashing = outboxEntry({ created_at: secondsAgo(90) });
    const next = outboxEntry({ created_at: secondsAgo(60) });
    outbox.add(crashing, next);
    for (let run = 1; run <= options.maxAttempts; run++) {
      // The run claims the entry and the Worker ends before it settles: only the lease running out frees it.
      expect(await outbox.claimDue(options.graceSeconds, 1, options.maxAttempts)).toMatchObject([{ id: crashing.id, attempts: run }]);
      outbox.entries.get(crashing.id)!.claimed = false;
    }
    expect(await redeliverUndelivered({ ...deps, ...options })).toMatchObject({ claimed: 1, published: 1 });
    expect(outbox.entries.get(crashing.id)).toMatchObject({
      attempts: 3,
      failedReason: 'gave up after 3 attempts: the deliverer stopped before recording an outcome',
    });
    expect(outbox.entries.get(next.id)).toMatchObject({ delivered: true, attempts: 1 });
    fake.assertBroadcastTimes(EmailReceived, 1);
  });
});
