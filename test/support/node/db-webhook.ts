import { createHmac, randomUUID } from 'node:crypto';

/** A database webhook request for a Worker started from Node, signed as the database trigger signs it. */
export function signedDbWebhook(secret: string, body: string): RequestInit {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Tidings-Timestamp': timestamp, 'X-Tidings-Signature': `v1=${signature}` },
    body,
  };
}

/**
 * A webhook body for an email to `recipientId` being marked read (an UPDATE), and the row: the
 * Worker publishes `email.updated` straight from such a payload, so no database is needed.
 */
export function readEmailUpdate(recipientId: string): { row: { id: string; read_at: string }; body: string } {
  const row = {
    id: randomUUID(),
    sender_id: randomUUID(),
    recipient_id: recipientId,
    subject: 'Hi',
    body: 'Hello',
    created_at: '2026-11-28T02:00:00.000001+00:00',
    read_at: '2026-11-28T02:05:00+00:00',
    delivered_at: null,
    delivery_attempts: 1,
  };
  return {
    row,
    body: JSON.stringify({ type: 'UPDATE', table: 'emails', schema: 'public', record: row, old_record: { ...row, read_at: null } }),
  };
}
