/**
 * Records the deliveries of one-row webhooks together. Rows published by concurrent webhook
 * requests in one isolate share one write, made just after their answers went out and kept alive
 * by the scheduling request's `waitUntil`. Requests share plain data only (the queue of rows),
 * never an I/O object: each write runs in the request that scheduled it.
 */

import type { Logger } from '../log.ts';
import type { EmailRow } from './model-events.ts';

/** How long a scheduled write waits for concurrent webhooks to join it. */
const JOIN_MS = 5;

/** Queues rows published by webhooks and records them in shared writes (see the module comment). */
export class DeliveryRecorder {
  readonly #write: (rows: EmailRow[], now: Date) => Promise<number>;
  readonly #log: Logger;
  readonly #joinMs: number;
  readonly #pending: EmailRow[] = [];
  #scheduled = false;

  /** `write` records rows as delivered (only those not delivered yet) and says how many it recorded. */
  constructor(write: (rows: EmailRow[], now: Date) => Promise<number>, log: Logger, joinMs = JOIN_MS) {
    this.#write = write;
    this.#log = log;
    this.#joinMs = joinMs;
  }

  /**
   * Queues a published row. The first row queued since the last write schedules the next one
   * through `waitUntil`. A lost write (the isolate ended, the database was down) leaves the rows
   * undelivered: the cron publishes them again and clients de-duplicate by id.
   */
  add(row: EmailRow, waitUntil: (promise: Promise<unknown>) => void): void {
    this.#pending.push(row);
    if (this.#scheduled) return;
    this.#scheduled = true;
    waitUntil(this.#writeSoon());
  }

  async #writeSoon(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.#joinMs));
    const rows = this.#pending.splice(0);
    this.#scheduled = false;
    try {
      const recorded = await this.#write(rows, new Date());
      // Delivered by someone else meanwhile (a repeated webhook) or deleted: clients de-duplicate by id.
      if (recorded < rows.length) this.#log.info('published emails already delivered or deleted', { count: rows.length - recorded });
    } catch (error) {
      this.#log.warn('deliveries not recorded', { count: rows.length, error: String(error) });
    }
  }
}
