import { createHmac } from 'node:crypto';

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
