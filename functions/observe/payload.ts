/**
 * The database webhook payloads for `public.emails` (see the migrations for who sends which), as a
 * zod discriminated union: Supabase's Database Webhook for one row, with the sender's name added
 * on a one-row insert, and the ids of the rows of a larger insert.
 */
import { z } from 'zod';

/** Ids per insert webhook at most, as the trigger sends them: the Worker's work per webhook stays bounded. */
export const MAX_IDS_PER_WEBHOOK = 100;

const id = z.guid();
const timestamp = z.string().refine((value) => !Number.isNaN(Date.parse(value)), { message: 'Invalid timestamp' });

/** An `emails` row as `to_jsonb(new)` prints it; extra columns are ignored. */
const emailRecord = z.object({
  id,
  sender_id: id,
  recipient_id: id,
  subject: z.string(),
  body: z.string(),
  created_at: timestamp,
  read_at: timestamp.nullable(),
  delivered_at: timestamp.nullable().optional(),
  delivery_attempts: z.number().int().optional(),
});

const target = { table: z.literal('emails'), schema: z.literal('public') };

/**
 * An insert: one row (`record`, with `sender` when the trigger added it) or, for a statement that
 * inserted several, their ids (`record_ids`). Exactly one of the two.
 */
const insert = z
  .object({
    type: z.literal('INSERT'),
    ...target,
    record: emailRecord.optional(),
    old_record: z.null().optional(),
    sender: z.object({ display_name: z.string() }).nullable().optional(),
    record_ids: z.array(id).min(1).max(MAX_IDS_PER_WEBHOOK).optional(),
  })
  .refine((change) => (change.record === undefined) !== (change.record_ids === undefined), {
    message: 'An INSERT needs either record or record_ids',
    path: ['record'],
  });

export const webhookPayload = z.discriminatedUnion('type', [
  insert,
  z.object({ type: z.literal('UPDATE'), ...target, record: emailRecord, old_record: emailRecord.nullable().optional() }),
  z.object({ type: z.literal('DELETE'), ...target, record: z.null().optional(), old_record: emailRecord }),
]);

export type WebhookPayload = z.output<typeof webhookPayload>;
