/**
 * The reference app's models (Laravel's `BroadcastsEvents`): which event each change of an observed
 * table broadcasts. Each table is attached to the observer in a migration (`tidings.observe`), and
 * the webhook receiver and the redelivery cron both publish through {@link observedModels}.
 */
import { z } from 'zod';
import {
  AnnouncementCreated,
  type BroadcastMessage,
  EmailDeleted,
  EmailReceived,
  EmailsUpdated,
  EmailUpdated,
  previewOf,
} from './events.ts';
import { defineModel, ModelRegistry } from './model.ts';

/** An `emails` row as the database sends it. */
export interface EmailRow {
  id: string;
  sender_id: string;
  recipient_id: string;
  subject: string;
  body: string;
  created_at: string;
  read_at: string | null;
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
  updated(row: Pick<EmailRow, 'id' | 'recipient_id' | 'read_at'>): BroadcastMessage {
    return EmailUpdated.to(row, { id: row.id, read_at: row.read_at });
  },
  /**
   * Several rows changed by one statement (mark all read): one `emails.updated` per recipient,
   * each email once (a row changed twice is read as it is now both times).
   */
  updatedTogether(rows: Array<Pick<EmailRow, 'id' | 'recipient_id' | 'read_at'>>): BroadcastMessage[] {
    const byRecipient = new Map<string, Map<string, { id: string; read_at: string | null }>>();
    for (const row of rows) {
      const emails = byRecipient.get(row.recipient_id) ?? new Map();
      byRecipient.set(row.recipient_id, emails);
      emails.set(row.id, { id: row.id, read_at: row.read_at });
    }
    return [...byRecipient].map(([recipient_id, emails]) => EmailsUpdated.to({ recipient_id }, { emails: [...emails.values()] }));
  },
  /** A deleted row: `email.deleted`. */
  deleted(old: Pick<EmailRow, 'id' | 'recipient_id'>): BroadcastMessage {
    return EmailDeleted.to(old, { id: old.id });
  },
};

/** Postgres timestamps as to_jsonb prints them; '-infinity' and 'infinity' are refused. */
const timestamp = z.string().refine((value) => !Number.isNaN(Date.parse(value)), { message: 'not a finite timestamp' });

/**
 * `public.emails`, read from the `email_announcements` view (the body's start and the sender's
 * name); a deleted email keeps its id, sender and recipient (see the outbox migration).
 */
export const emailModel = defineModel({
  table: 'public.emails',
  row: z.object({
    id: z.guid(),
    sender_id: z.guid(),
    recipient_id: z.guid(),
    subject: z.string(),
    body_start: z.string(),
    created_at: timestamp,
    read_at: timestamp.nullable(),
    sender_name: z.string(),
  }),
  deletedRow: z.object({ id: z.guid(), recipient_id: z.guid() }),
  // An update broadcasts only the read state: a row whose other columns the inbox cannot show (a
  // created_at of -infinity written by hand) still has its reads reach every tab.
  updatedRow: z.object({ id: z.guid(), recipient_id: z.guid(), read_at: timestamp.nullable() }),
  created: (row) => emailModelEvents.created({ ...row, body: row.body_start }, row.sender_name),
  updated: (row) => emailModelEvents.updated(row),
  updatedTogether: (rows) => emailModelEvents.updatedTogether(rows),
  deleted: (old) => emailModelEvents.deleted(old),
});

/** `public.announcements` (`select tidings.observe('public.announcements')`): the whole row to everyone signed in. */
export const announcementModel = defineModel({
  table: 'public.announcements',
  row: z.object({ id: z.guid(), sender_id: z.guid(), title: z.string(), body: z.string(), created_at: timestamp }),
  created: (row) => AnnouncementCreated.to(undefined, row),
});

/** Every observed table's model. */
export const observedModels = new ModelRegistry([emailModel, announcementModel]);
