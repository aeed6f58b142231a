/**
 * The database webhook's payload (see the outbox migration): the outbox entries one statement
 * wrote, at most 100 per webhook, with the table and operation for the log. It names entries and
 * carries no row data: the Worker reads what to publish from the database.
 */
import { z } from 'zod';

/** Outbox ids per webhook at most, as the trigger sends them: the Worker's work per webhook stays bounded. */
export const MAX_IDS_PER_WEBHOOK = 100;

const identifier = z.string().min(1).max(63);

export const webhookPayload = z.object({
  type: z.enum(['INSERT', 'UPDATE', 'DELETE']),
  table: identifier,
  schema: identifier,
  outbox_ids: z.array(z.number().int().positive()).min(1).max(MAX_IDS_PER_WEBHOOK),
});

export type WebhookPayload = z.output<typeof webhookPayload>;
