import { env } from 'cloudflare:workers';
import type { EmailRow } from '../../../functions/broadcast/model-events.ts';
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

/** A row of public.emails from the seeded admin to Ada, not delivered yet. */
export function emailRow(overrides: Partial<EmailRow> = {}): EmailRow {
  return {
    id: crypto.randomUUID(),
    sender_id: seedUsers.admin.id,
    recipient_id: seedUsers.ada.id,
    subject: 'Welcome',
    body: 'Hello and welcome to Tidings.',
    created_at: '2026-11-28T02:01:15.123456+00:00',
    read_at: null,
    delivered_at: null,
    delivery_attempts: 0,
    ...overrides,
  };
}

/** The Supabase database webhook body for a change to `public.emails`. */
export function payload(type: 'INSERT' | 'UPDATE' | 'DELETE', record: EmailRow | null, oldRecord: EmailRow | null = null): string {
  return JSON.stringify({ type, table: 'emails', schema: 'public', record, old_record: oldRecord });
}
