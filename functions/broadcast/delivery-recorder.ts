/**
 * Settles the outcomes of webhook deliveries together. Settlements made by concurrent webhook
 * requests in one isolate share one write, made just after their answers went out and kept alive
 * by the scheduling request's `waitUntil`. Requests share plain data only (the queued
 * settlements), never an I/O object: each write runs in the request that scheduled it.
 */

import { emptySettlement, type Settled, type Settlement } from '../data/outbox.ts';
import type { Logger } from '../log.ts';

/** How long a scheduled write waits for concurrent webhooks to join it. */
const JOIN_MS = 5;

/** Queues settlements and records them in shared writes (see the module comment). */
export class DeliveryRecorder {
  readonly #write: (settlement: Settlement) => Promise<Settled>;
  readonly #log: Logger;
  readonly #joinMs: number;
  #pending: Settlement = emptySettlement();
  #scheduled = false;

  /** `write` records a settlement in the outbox and says what it recorded. */
  constructor(write: (settlement: Settlement) => Promise<Settled>, log: Logger, joinMs = JOIN_MS) {
    this.#write = write;
    this.#log = log;
    this.#joinMs = joinMs;
  }

  /**
   * Queues a settlement. The first one queued since the last write schedules the next write through
   * `waitUntil`. A lost write (the isolate ended, the database was down) leaves the entries leased:
   * the cron claims them again once the lease ends, and clients de-duplicate by id.
   */
  add(settlement: Settlement, waitUntil: (promise: Promise<unknown>) => void): void {
    this.#pending.delivered.push(...settlement.delivered);
    this.#pending.failed.push(...settlement.failed);
    this.#pending.retry.push(...settlement.retry);
    this.#pending.released.push(...settlement.released);
    if (this.#scheduled) return;
    this.#scheduled = true;
    waitUntil(this.#writeSoon());
  }

  async #writeSoon(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.#joinMs));
    const settlement = this.#pending;
    this.#pending = emptySettlement();
    this.#scheduled = false;
    try {
      const settled = await this.#write(settlement);
      // Settled by someone else meanwhile (a lease that ran out): clients de-duplicate by id.
      if (settled.delivered < settlement.delivered.length) {
        this.#log.info('published outbox entries already settled', { count: settlement.delivered.length - settled.delivered });
      }
    } catch (error) {
      this.#log.warn('outbox entries not settled', { count: settlement.delivered.length, error: String(error) });
    }
  }
}
