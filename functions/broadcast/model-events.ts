/**
 * Model events for `emails` (Laravel's `BroadcastsEvents` on a model): which event each row change
 * broadcasts. The database webhook and the redelivery cron both go through here.
 */
import { type BroadcastMessage, EmailDeleted, EmailReceived, EmailUpdated, previewOf } from './events.ts';

/** An `emails` row as the database sends it. */
export interface EmailRow {
  id: string;
  sender_id: string;
  recipient_id: string;
  subject: string;
  body: string;
  created_at: string;
  read_at: string | null;
  delivered_at?: string | null;
  delivery_attempts?: number;
}

export const emailModelEvents = {
  /** A new row: `email.received` for the recipient, with the sender's display name. */
  created(row: EmailRow, senderName: string): BroadcastMessage {
    return EmailReceived.to(row, {
      id: row.id,
      sender_id: row.sender_id,
      sender_name: senderName.slice(0, 200),
      subject: row.subject,
      preview: previewOf(row.body),
      created_at: row.created_at,
    });
  },
  /** A changed row (read state): `email.updated`, so the recipient's other tabs stay in sync. */
  updated(row: EmailRow): BroadcastMessage {
    return EmailUpdated.to(row, { id: row.id, read_at: row.read_at });
  },
  /** A deleted row: `email.deleted`. */
  deleted(old: Pick<EmailRow, 'id' | 'recipient_id'>): BroadcastMessage {
    return EmailDeleted.to(old, { id: old.id });
  },
};
