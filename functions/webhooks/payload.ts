/** The Supabase database webhook payload for `public.emails`, as a zod discriminated union. */
import { z } from 'zod';

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

export const webhookPayload = z.discriminatedUnion('type', [
  z.object({ type: z.literal('INSERT'), ...target, record: emailRecord, old_record: z.null().optional() }),
  z.object({ type: z.literal('UPDATE'), ...target, record: emailRecord, old_record: emailRecord.nullable().optional() }),
  z.object({ type: z.literal('DELETE'), ...target, record: z.null().optional(), old_record: emailRecord }),
]);

export type WebhookPayload = z.output<typeof webhookPayload>;
