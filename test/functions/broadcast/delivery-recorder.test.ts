import { describe, expect, it } from 'vitest';
import { DeliveryRecorder } from '../../../functions/broadcast/delivery-recorder.ts';
import type { EmailRow } from '../../../functions/broadcast/model-events.ts';
import type { Logger } from '../../../functions/log.ts';
import { emailRow } from '../../support/workerd/webhooks.ts';

function recorder(write: (rows: EmailRow[]) => Promise<number>) {
  const kept: Promise<unknown>[] = [];
  const lines: Record<string, unknown>[] = [];
  const entry =
    (level: string) =>
    (msg: string, fields: Record<string, unknown> = {}) =>
      void lines.push({ level, msg, ...fields });
  const log: Logger = { debug: entry('debug'), info: entry('info'), warn: entry('warn'), error: entry('error') };
  return { recorder: new DeliveryRecorder(write, log, 1), waitUntil: (promise: Promise<unknown>) => void kept.push(promise), kept, lines };
}

describe('DeliveryRecorder (recording one-row webhooks together)', () => {
  it('writes the rows of concurrent webhooks in one write, scheduled by the first of them', async () => {
    const writes: string[][] = [];
    const {
      recorder: deliveries,
      waitUntil,
      kept,
    } = recorder(async (rows) => {
      writes.push(rows.map((row) => row.id));
      return rows.length;
    });
    const rows = [emailRow(), emailRow(), emailRow()];
    for (const row of rows) deliveries.add(row, waitUntil);
    expect(kept).toHaveLength(1);
    expect(writes).toEqual([]);
    await Promise.all(kept);
    expect(writes).toEqual([rows.map((row) => row.id)]);
  });

  it('schedules another write for rows queued once a write has started', async () => {
    const writes: number[] = [];
    let release = () => {};
    const {
      recorder: deliveries,
      waitUntil,
      kept,
    } = recorder(async (rows) => {
      writes.push(rows.length);
      if (writes.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return rows.length;
    });
    deliveries.add(emailRow(), waitUntil);
    await expect.poll(() => writes).toEqual([1]);
    deliveries.add(emailRow(), waitUntil);
    deliveries.add(emailRow(), waitUntil);
    expect(kept).toHaveLength(2);
    release();
    await Promise.all(kept);
    expect(writes).toEqual([1, 2]);
  });

  it('logs a failed write and rows found delivered already, without throwing into waitUntil', async () => {
    let fail = true;
    const {
      recorder: deliveries,
      waitUntil,
      kept,
      lines,
    } = recorder(async (rows) => {
      if (fail) throw new Error('database down');
      return rows.length - 1;
    });
    deliveries.add(emailRow(), waitUntil);
    await Promise.all(kept);
    fail = false;
    deliveries.add(emailRow(), waitUntil);
    deliveries.add(emailRow(), waitUntil);
    await Promise.all(kept);
    expect(lines).toMatchObject([
      { level: 'warn', msg: 'deliveries not recorded', count: 1, error: 'Error: database down' },
      { level: 'info', msg: 'published emails already delivered or deleted', count: 1 },
    ]);
  });
});
