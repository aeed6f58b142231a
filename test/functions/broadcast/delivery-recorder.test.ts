import { describe, expect, it } from 'vitest';
import { DeliveryRecorder } from '../../../functions/broadcast/delivery-recorder.ts';
import { emptySettlement, type Settlement } from '../../../functions/data/outbox.ts';
import type { Logger } from '../../../functions/log.ts';

function recorder(write: (settlement: Settlement) => Promise<number>) {
  const kept: Promise<unknown>[] = [];
  const lines: Record<string, unknown>[] = [];
  const entry =
    (level: string) =>
    (msg: string, fields: Record<string, unknown> = {}) =>
      void lines.push({ level, msg, ...fields });
  const log: Logger = { debug: entry('debug'), info: entry('info'), warn: entry('warn'), error: entry('error') };
  return {
    recorder: new DeliveryRecorder(async (settlement) => ({ delivered: await write(settlement), failed: 0, retried: 0 }), log, 1),
    waitUntil: (promise: Promise<unknown>) => void kept.push(promise),
    kept,
    lines,
  };
}

const delivered = (...ids: number[]): Settlement => ({ ...emptySettlement(), delivered: ids });

describe('DeliveryRecorder (settling concurrent webhooks together)', () => {
  it('writes the settlements of concurrent webhooks in one write, scheduled by the first of them', async () => {
    const writes: Settlement[] = [];
    const {
      recorder: deliveries,
      waitUntil,
      kept,
    } = recorder(async (settlement) => {
      writes.push(settlement);
      return settlement.delivered.length;
    });
    deliveries.add(delivered(1), waitUntil);
    deliveries.add(delivered(2, 3), waitUntil);
    deliveries.add({ ...emptySettlement(), failed: [{ id: 4, reason: 'bad row' }] }, waitUntil);
    expect(kept).toHaveLength(1);
    expect(writes).toEqual([]);
    await Promise.all(kept);
    expect(writes).toEqual([{ delivered: [1, 2, 3], failed: [{ id: 4, reason: 'bad row' }], retry: [], released: [] }]);
  });

  it('schedules another write for settlements queued once a write has started', async () => {
    const writes: number[][] = [];
    let release = () => {};
    const {
      recorder: deliveries,
      waitUntil,
      kept,
    } = recorder(async (settlement) => {
      writes.push(settlement.delivered);
      if (writes.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return settlement.delivered.length;
    });
    deliveries.add(delivered(1), waitUntil);
    await expect.poll(() => writes).toEqual([[1]]);
    deliveries.add(delivered(2), waitUntil);
    expect(kept).toHaveLength(2);
    release();
    await Promise.all(kept);
    expect(writes).toEqual([[1], [2]]);
  });

  it('logs a failed write instead of throwing (the cron claims the entries again when their lease ends)', async () => {
    const {
      recorder: deliveries,
      waitUntil,
      kept,
      lines,
    } = recorder(async () => {
      throw new Error('database down');
    });
    deliveries.add(delivered(1, 2), waitUntil);
    await Promise.all(kept);
    expect(lines).toEqual([{ level: 'warn', msg: 'outbox entries not settled', count: 2, error: 'Error: database down' }]);
  });

  it('logs entries that someone else settled meanwhile', async () => {
    const { recorder: deliveries, waitUntil, kept, lines } = recorder(async () => 1);
    deliveries.add(delivered(1, 2), waitUntil);
    await Promise.all(kept);
    expect(lines).toEqual([{ level: 'info', msg: 'published outbox entries already settled', count: 1 }]);
  });
});
