import type { EmailRow } from '../../../functions/broadcasting/model-events.ts';
import type { DeliveryStore } from '../../../functions/data/emails.ts';

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

  async findEmail(id: string): Promise<(EmailRow & { sender_name: string }) | null> {
    const row = this.rows.get(id);
    return row ? { ...row, sender_name: this.names.get(row.sender_id) ?? '' } : null;
  }

  async senderNames(ids: string[]): Promise<Map<string, string>> {
    return new Map(ids.filter((id) => this.names.has(id)).map((id) => [id, this.names.get(id)!]));
  }

  async listUndelivered(createdBefore: Date, limit: number): Promise<EmailRow[]> {
    return [...this.rows.values()]
      .filter((row) => !row.delivered_at && Date.parse(row.created_at) < createdBefore.getTime())
      .sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id.localeCompare(b.id))
      .slice(0, limit)
      .map((row) => ({ ...row }));
  }

  /** How many times recordDeliveries was called (the cron should call it once per run). */
  deliveryWrites = 0;

  async recordDeliveries(rows: EmailRow[], now: Date): Promise<void> {
    this.deliveryWrites++;
    for (const row of rows) await this.recordAttempt(row, true, now);
  }

  async recordAttempt(row: EmailRow, delivered: boolean, now: Date): Promise<void> {
    const stored = this.rows.get(row.id);
    if (!stored) return;
    stored.delivery_attempts = (row.delivery_attempts ?? 0) + 1;
    if (delivered) stored.delivered_at = now.toISOString();
  }
}
