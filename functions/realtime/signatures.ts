import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Pusher's signatures: HMAC-SHA256 in hex over documented strings, compared in constant time.
 * Known answers from Pusher's HTTP API reference pin them (see test/functions/realtime/signatures.test.ts).
 */

/** Hex HMAC-SHA256 of `message` under `secret`. */
export function hmacHex(secret: string, message: string): string {
  return createHmac('sha256', secret).update(message, 'utf8').digest('hex');
}

/** Hex MD5 of a UTF-8 body (the HTTP API's `body_md5`). */
export function md5Hex(body: string): string {
  return createHash('md5').update(body, 'utf8').digest('hex');
}

/** Compares two strings without leaking where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  // Compare against itself on a length mismatch so both paths do the same work.
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

/** The `auth` a client must present for a private channel: `key:hex(HMAC(socket_id:channel))`. */
export function channelAuth(key: string, secret: string, socketId: string, channel: string, channelData?: string): string {
  const signed = channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
  return `${key}:${hmacHex(secret, signed)}`;
}

/** The `auth` of `pusher:signin`: `key:hex(HMAC(socket_id::user::user_data))`. */
export function userAuth(key: string, secret: string, socketId: string, userData: string): string {
  return `${key}:${hmacHex(secret, `${socketId}::user::${userData}`)}`;
}

/**
 * The HTTP API's `auth_signature`: HMAC of `METHOD\nPATH\nQUERY`, QUERY being every parameter but
 * `auth_signature`, keys lower-cased and sorted, joined `k=v&...` without URL-escaping.
 */
export function requestSignature(secret: string, method: string, path: string, params: Record<string, string>): string {
  const query = Object.entries(params)
    .filter(([key]) => key !== 'auth_signature')
    .map(([key, value]) => [key.toLowerCase(), value] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
  return hmacHex(secret, `${method.toUpperCase()}\n${path}\n${query}`);
}

/** `X-Pusher-Signature` of a webhook body. */
export function webhookSignature(secret: string, body: string): string {
  return hmacHex(secret, body);
}
