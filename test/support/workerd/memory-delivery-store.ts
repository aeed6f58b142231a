import { BroadcastFake } from '../../../functions/broadcast/drivers/fake.ts';
import type { BroadcastMessage } from '../../../functions/broadcast/events.ts';
import type { EmailRow } from '../../../functions/broadcast/model-events.ts';
import type { AnnouncedEmail, DeliveryStore } from '../../../functions/data/emails.ts';
import { seedUsers } from '../seed-users.ts';

/**
 * An in-memory DeliveryStore, to test the delivery rules (once per row, oldest first, bounded)
 * without a database. The Supabase implementation is covered by the integration tests.
 */
export class MemoryDeliveryStore implements DeliveryStore {
  readonly rows = new Map<string, EmailRow>();
  readonly names = new Map<string, string>();

  add(...rows: EmailRow[]): this {
    for (const row of rows) this.rows.set(row.id, { ...row });
    return this;
  }

  /** How many times rows were read (findEmail and findEmails each count one). */
  reads = 0;

  async findEmail(id: string): Promise<AnnouncedEmail | null> {
    return (await this.findEmails([id]))[0] ?? null;
  }

  async findEmails(ids: string[]): Promise<AnnouncedEmail[]> {
    this.reads++;
    return ids
      .flatMap((id) => (this.rows.has(id) ? [this.rows.get(id)!] : []))
      .sort(byCreatedAtThenId)
      .map((row) => this.announced(row));
  }

  async listUndelivered(createdBefore: Date, limit: number): Promise<AnnouncedEmail[]> {
    return [...this.rows.values()]
      .filter((row) => !row.delivered_at && Date.parse(row.created_at) < createdBefore.getTime())
      .sort(byCreatedAtThenId)
      .slice(0, limit)
      .map((row) => this.announced(row));
  }

  /** As the email_announcements view reads a row: whitespace collapsed, the first 400 characters, and the sender's name. */
  private announced(row: EmailRow): AnnouncedEmail {
    return { ...row, body: row.body.replace(/\s+/g, ' ').slice(0, 400), sender_name: this.names.get(row.sender_id) ?? '' };
  }

  /** How many times recordDeliveries was called (the cron should call it once per run). */
  deliveryWrites = 0;

  async recordDeliveries(rows: EmailRow[], now: Date): Promise<number> {
    this.deliveryWrites++;
    let recorded = 0;
    for (const row of rows) if (await this.recordAttempt(row, true, now)) recorded++;
    return recorded;
  }

  async recordAttempt(row: EmailRow, delivered: boolean, now: Date): Promise<boolean> {
    const stored = this.rows.get(row.id);
    if (!stored) return false;
    if (!delivered) {
      stored.delivery_attempts = (row.delivery_attempts ?? 0) + 1;
      return false;
    }
    // As the Supabase store: only a row not delivered yet is recorded.
    if (stored.delivered_at) return false;
    stored.delivery_attempts = (row.delivery_attempts ?? 0) + 1;
    stored.delivered_at = now.toISOString();
    return true;
  }
}

function byCreatedAtThenId(a: EmailRow, b: EmailRow): number {
  return Date.parse(a.created_at) - Date.parse(b.created_at) || a.id.localeCompare(b.id);
}

/** The clock the delivery and redelivery tests run at. */
export const now = new Date('2026-11-28T03:00:00Z');

/** An ISO timestamp `seconds` before {@link now}. */
export const secondsAgo = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString();

/** A publish (or store write) that always fails, as when the broadcaster or the database is down. */
export const failing = async () => {
  throw new Error('server down');
};

/** A memory store that knows the seeded admin's name, a broadcast fake, and the deps delivery and redelivery take. */
export function setup() {
  const store = new MemoryDeliveryStore();
  store.names.set(seedUsers.admin.id, seedUsers.admin.name);
  const fake = new BroadcastFake();
  const publish = (message: BroadcastMessage) =>
    fake.publish({ channels: message.channels, name: message.event.name, data: JSON.stringify(message.data) });
  return { store, fake, deps: { store, publish, now: () => now } };
}
