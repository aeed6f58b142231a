import { describe, expect, it } from 'vitest';
import { type BroadcastMessage, EmailReceived } from '../../../functions/broadcast/events.ts';
import { redeliverUndelivered } from '../../../functions/redeliver/undelivered.ts';
import { failing, now, secondsAgo, setup } from '../../support/workerd/memory-delivery-store.ts';
import { emailRow } from '../../support/workerd/webhooks.ts';

describe('redelivery', () => {
  const at = secondsAgo;

  it('publishes undelivered rows older than the grace period, oldest first, and records them', async () => {
    const { store, fake, deps } = setup();
    const newest = emailRow({ created_at: at(40) });
    const oldest = emailRow({ created_at: at(300) });
    const tooRecent = emailRow({ created_at: at(5) });
    const delivered = emailRow({ created_at: at(500), delivered_at: at(499), delivery_attempts: 1 });
    store.add(newest, oldest, tooRecent, delivered);
    expect(await redeliverUndelivered({ ...deps, graceSeconds: 30, batch: 10 })).toEqual({ published: 2, failed: 0, remaining: false });
    expect(fake.broadcasted(EmailReceived).map((b) => (b.data as { id: string }).id)).toEqual([oldest.id, newest.id]);
    expect(store.rows.get(oldest.id)!.delivered_at).toBe(now.toISOString());
    expect(store.rows.get(oldest.id)!.delivery_attempts).toBe(1);
    expect(store.rows.get(tooRecent.id)!.delivered_at).toBeNull();
    expect(store.deliveryWrites).toBe(1);
  });

  it('reports success when publishing worked but recording failed (the next run republishes)', async () => {
    const { store, fake, deps } = setup();
    store.add(emailRow({ created_at: at(100) }));
    store.recordDeliveries = failing;
    expect(await redeliverUndelivered({ ...deps, graceSeconds: 30, batch: 10 })).toEqual({ published: 1, failed: 0, remaining: false });
    fake.assertBroadcastTimes(EmailReceived, 1);
  });

  it('publishes at most a batch per run and says more remain', async () => {
    const { store, fake, deps } = setup();
    store.add(...Array.from({ length: 5 }, (_, i) => emailRow({ created_at: at(100 + i) })));
    expect(await redeliverUndelivered({ ...deps, graceSeconds: 30, batch: 3 })).toEqual({ published: 3, failed: 0, remaining: true });
    expect(await redeliverUndelivered({ ...deps, graceSeconds: 30, batch: 3 })).toEqual({ published: 2, failed: 0, remaining: false });
    fake.assertBroadcastTimes(EmailReceived, 5);
    expect(await redeliverUndelivered({ ...deps, graceSeconds: 30, batch: 3 })).toEqual({ published: 0, failed: 0, remaining: false });
  });

  it('stops at the first publishing failure, counting the attempt and recording what was published before it', async () => {
    const { store, deps } = setup();
    const rows = [emailRow({ created_at: at(300) }), emailRow({ created_at: at(200) }), emailRow({ created_at: at(100) })];
    store.add(...rows);
    let calls = 0;
    const failsSecond = async (message: BroadcastMessage) => {
      if (++calls === 2) throw new Error('server down');
      await deps.publish(message);
    };
    expect(await redeliverUndelivered({ ...deps, publish: failsSecond, graceSeconds: 30, batch: 10 })).toEqual({
      published: 1,
      failed: 1,
      remaining: true,
    });
    expect(store.rows.get(rows[0]!.id)).toMatchObject({ delivered_at: now.toISOString(), delivery_attempts: 1 });
    expect(store.rows.get(rows[1]!.id)).toMatchObject({ delivered_at: null, delivery_attempts: 1 });
    expect(store.rows.get(rows[2]!.id)).toMatchObject({ delivered_at: null, delivery_attempts: 0 });
  });
});
