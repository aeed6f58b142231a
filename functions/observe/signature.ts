/**
 * The database webhook's signature: `X-Tidings-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>`
 * with `X-Tidings-Timestamp: <unix seconds>`, computed in SQL by the trigger (see supabase/migrations).
 */

/** How far the timestamp may be from now, either way: older is a replay, newer a forged clock. */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

/** `v1=` signatures one header may carry: a secret being rotated needs two. */
export const MAX_SIGNATURES = 3;

/** Why a webhook was refused; safe to answer with. */
export class WebhookRefused extends Error {
  override name = 'WebhookRefused';
}

function hexToBytes(hex: string): Uint8Array | null {
  if (!/^(?:[0-9a-f]{2})+$/i.test(hex)) return null;
  return Uint8Array.from(hex.match(/../g)!, (pair) => parseInt(pair, 16));
}

/**
 * Verifies a webhook's signature and freshness.
 * @throws WebhookRefused naming what is wrong.
 */
export async function verifyWebhookSignature(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  rawBody: string,
  now: Date = new Date(),
): Promise<void> {
  if (!headers.timestamp) throw new WebhookRefused('X-Tidings-Timestamp is missing');
  if (!/^\d{1,12}$/.test(headers.timestamp))
    throw new WebhookRefused(`X-Tidings-Timestamp must be unix seconds, not '${headers.timestamp.slice(0, 40)}'`);
  if (!headers.signature) throw new WebhookRefused('X-Tidings-Signature is missing');
  // Several `v1=` entries may be present while the secret is being rotated; a few are enough.
  const entries = headers.signature.split(',').filter((part) => part.trim().startsWith('v1='));
  if (entries.length > MAX_SIGNATURES) {
    throw new WebhookRefused(
      `X-Tidings-Signature has ${entries.length} v1= signatures: at most ${MAX_SIGNATURES} (one per secret being rotated)`,
    );
  }
  const candidates = entries
    .map((part) => hexToBytes(part.trim().slice(3)))
    .filter((bytes): bytes is Uint8Array => bytes !== null && bytes.length === 32);
  if (candidates.length === 0) throw new WebhookRefused('X-Tidings-Signature has no v1=<64 hex digits> signature');
  // One HMAC, whatever the number of candidates, each compared in constant time.
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const expected = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${headers.timestamp}.${rawBody}`)));
  let valid = false;
  for (const candidate of candidates) {
    if (crypto.subtle.timingSafeEqual(candidate, expected)) valid = true;
  }
  if (!valid) throw new WebhookRefused('X-Tidings-Signature does not match the body: check DB_WEBHOOK_SECRET on both sides');
  const age = Math.floor(now.getTime() / 1000) - Number(headers.timestamp);
  if (age > WEBHOOK_TOLERANCE_SECONDS)
    throw new WebhookRefused(`The webhook is ${age} s old (more than ${WEBHOOK_TOLERANCE_SECONDS} s): refused as a possible replay`);
  if (-age > WEBHOOK_TOLERANCE_SECONDS)
    throw new WebhookRefused(`The webhook's timestamp is ${-age} s in the future: check the database server's clock`);
}
