import { BroadcastFake } from '../../../functions/broadcast/drivers/fake.ts';
import type { BroadcastMessage } from '../../../functions/broadcast/events.ts';
import { observedModels } from '../../../functions/broadcast/model-events.ts';
import type { OutboxEntry, OutboxStore, Settled, Settlement } from '../../../functions/data/outbox.ts';

/** An entry as the memory outbox keeps it. */
export interface StoredEntry extends OutboxEntry {
  delivered: boolean;
  failedReason: string | null;
  claimed: boolean;
}

/**
 * An in-memory OutboxStore with the rules of the database functions (claims lease, oldest first,
 * attempts counted when claimed and given back when released, failed at the maximum), to test
 * delivery without a database.
 * The functions themselves are tested against Postgres in test/supabase/outbox.test.ts.
 */
export class MemoryOutbox implements OutboxStore {
  readonly entries = new Map<number, StoredEntry>();
  /** How many settle calls there were (a cron round should make one). */
  settles = 0;

  add(...entries: OutboxEntry[]): this {
    for (const entry of entries) this.entries.set(entry.id, { ...entry, delivered: false, failedReason: null, claimed: false });
    return this;
  }

  #pending(entry: StoredEntry): boolean {
    return !entry.delivered && entry.failedReason === null;
  }

  /** Leases the entries, counting an attempt each; one out of attempts is marked failed instead. */
  #take(entries: StoredEntry[], maxAttempts: number): OutboxEntry[] {
    for (const entry of entries) {
      if (entry.attempts >= maxAttempts) {
        entry.failedReason = `gave up after ${entry.attempts} attempts: the deliverer stopped before recording an outcome`;
      }
    }
    return entries
      .filter((entry) => this.#pending(entry))
      .sort((a, b) => a.id - b.id)
      .map((entry) => {
        entry.claimed = true;
        entry.attempts++;
        const { delivered: _delivered, failedReason: _failed, claimed: _claimed, ...claimed } = entry;
        return claimed;
      });
  }

  async claim(ids: number[], maxAttempts: number): Promise<OutboxEntry[]> {
    return this.#take(
      ids.flatMap((id) => this.entries.get(id) ?? []).filter((entry) => this.#pending(entry) && !entry.claimed),
      maxAttempts,
    );
  }

  async claimDue(graceSeconds: number, limit: number, maxAttempts: number): Promise<OutboxEntry[]> {
    const before = now.getTime() - graceSeconds * 1000;
    const due = [...this.entries.values()]
      .filter((entry) => this.#pending(entry) && !entry.claimed && Date.parse(entry.created_at) < before)
      .sort((a, b) => a.id - b.id)
      .slice(0, limit);
    return this.#take(due, maxAttempts);
  }

  async settle(settlement: Settlement, maxAttempts: number): Promise<Settled> {
    this.settles++;
    const settled: Settled = { delivered: 0, failed: 0, retried: 0 };
    const pending = (id: number) => {
      const entry = this.entries.get(id);
      return entry && this.#pending(entry) ? entry : undefined;
    };
    for (const id of settlement.delivered) {
      const entry = pending(id);
      if (!entry) continue;
      Object.assign(entry, { delivered: true, claimed: false });
      settled.delivered++;
    }
    for (const { id, reason } of settlement.failed) {
      const entry = pending(id);
      if (!entry) continue;
      Object.assign(entry, { failedReason: reason, claimed: false });
      settled.failed++;
    }
    for (const { id, error } of settlement.retry) {
      const entry = pending(id);
      if (!entry) continue;
      entry.claimed = false;
      if (entry.attempts >= maxAttempts) {
        entry.failedReason = `gave up after ${entry.attempts} attempts: ${error}`;
        settled.failed++;
      } else {
        settled.retried++;
      }
    }
    for (const id of settlement.released) {
      const entry = pending(id);
      if (!entry) continue;
      entry.claimed = false;
      entry.attempts = Math.max(entry.attempts - 1, 0);
    }
    return settled;
  }
}

/** The clock the redelivery tests run at. */
export const now = new Date('2026-11-28T03:00:00Z');

/** An ISO timestamp `seconds` before {@link now}. */
export const secondsAgo = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString();

/** A publish that always fails, as when the broadcaster is down. */
export const failing = async () => {
  throw new Error('server down');
};

/** A memory outbox, a broadcast fake, and the deps delivery and redelivery take. */
export function setup() {
  const outbox = new MemoryOutbox();
  const fake = new BroadcastFake();
  const publish = (message: BroadcastMessage) =>
    fake.publish({ channels: message.channels, name: message.event.name, data: JSON.stringify(message.data) });
  return { outbox, fake, deps: { outbox, models: observedModels, publish } };
}
