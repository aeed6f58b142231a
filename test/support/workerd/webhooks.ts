import { env } from 'cloudflare:workers';
import type { EmailRow } from '../../../functions/broadcast/model-events.ts';
import type { OutboxEntry } from '../../../functions/data/outbox.ts';
import { seedUsers } from '../seed-users.ts';
import { hmacHex } from './auth.ts';

/** A webhook request signed as the database trigger signs it. */
export async function signedWebhook(
  body: string,
  options: { secret?: string; timestamp?: number; signature?: string } = {},
): Promise<RequestInit> {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const signature = options.signature ?? `v1=${await hmacHex(options.secret ?? env.DB_WEBHOOK_SECRET, `${timestamp}.${body}`)}`;
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Tidings-Timestamp': timestamp, 'X-Tidings-Signature': signature },
    body,
  };
}

/** A row of public.emails from the seeded admin to Ada. */
export function emailRow(overrides: Partial<EmailRow> = {}): EmailRow {
  return {
    id: crypto.randomUUID(),
    sender_id: seedUsers.admin.id,
    recipient_id: seedUsers.ada.id,
    subject: 'Welcome',
    body: 'Hello and welcome to Tidings.',
    created_at: '2026-11-28T02:01:15.123456+00:00',
    read_at: null,
    ...overrides,
  };
}

/** The database webhook body naming outbox entries, as the trigger sends it. */
export function payload(type: 'INSERT' | 'UPDATE' | 'DELETE', outboxIds: number[], table = 'emails'): string {
  return JSON.stringify({ type, table, schema: 'public', outbox_ids: outboxIds });
}

/** An emails row as a claim reads it from the email_announcements view. */
export function announcedEmail(row: EmailRow = emailRow(), senderName = seedUsers.admin.name) {
  const { body, ...rest } = row;
  return { ...rest, body_start: body.replace(/\s+/g, ' ').slice(0, 400), sender_name: senderName };
}

let nextEntryId = 1;

/** An outbox entry of public.emails as a claim returns it (an INSERT of a new email unless overridden). */
export function outboxEntry(overrides: Partial<OutboxEntry> = {}): OutboxEntry {
  const record = announcedEmail();
  return {
    id: nextEntryId++,
    table_name: 'public.emails',
    operation: 'INSERT',
    row_id: record.id,
    changed_columns: null,
    created_at: '2026-11-28T02:01:15.123456+00:00',
    attempts: 0,
    record,
    ...overrides,
  };
}
