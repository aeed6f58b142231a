/**
 * Ably's rules and limits as Laravel's Ably broadcaster applies them, written once: the `ably`
 * broadcaster, the channel-auth route and the web client import them from here.
 *
 * Sources:
 * - ably/laravel-broadcaster 1.0.7, src/AblyBroadcaster.php (`formatChannels`, `normalizeChannelName`,
 *   `getSignedToken`, `buildAblyMessage`) and src/Utils.php (`decodeSocketId`).
 * - ably-forks/laravel-echo 1.0.6 (@ably/laravel-echo), src/connector/ably-connector.ts (`socketId()`).
 * - Ably's limits: https://ably.com/docs/rest/batch ("limited to querying 100 different channels per
 *   request", "maximum request body size for batch publishing is 2MiB") and ably-js 2.28.0's
 *   `Defaults.maxMessageSize` (65,536 bytes, the default account limit).
 *
 * Browser-safe: no imports.
 */

/** Ably's default endpoint: ably-js falls back to `main.{a..e}.fallback.ably-realtime.com` from it. */
export const ABLY_DEFAULT_HOST = 'main.realtime.ably.net';

/** Ably's published limits. */
export const AblyLimits = {
  /** A message's name, clientId and data together (ably-js `getMessageSize`); the default account limit. */
  messageBytes: 64 * 1024,
  /** Distinct channels in one batch publish request. */
  channelsPerBatch: 100,
  /** One batch publish request body. */
  batchBodyBytes: 2 * 1024 * 1024,
} as const;

/**
 * The Ably name of a Pusher-style channel, as Laravel's `AblyBroadcaster::formatChannels`:
 * `private-user.1` → `private:user.1`, `presence-admins` → `presence:admins`, `news` → `public:news`.
 */
export function ablyChannelName(pusherName: string): string {
  if (pusherName.startsWith('private-')) return `private:${pusherName.slice('private-'.length)}`;
  if (pusherName.startsWith('presence-')) return `presence:${pusherName.slice('presence-'.length)}`;
  return `public:${pusherName}`;
}

/**
 * The Pusher-style name of an Ably channel, the inverse of {@link ablyChannelName}: the channel
 * rules (like Laravel's `normalizeChannelName`) match on it. Null for a name without one of the
 * three namespaces @ably/laravel-echo uses.
 */
export function pusherChannelName(ablyName: string): string | null {
  if (ablyName.startsWith('private:')) return `private-${ablyName.slice('private:'.length)}`;
  if (ablyName.startsWith('presence:')) return `presence-${ablyName.slice('presence:'.length)}`;
  if (ablyName.startsWith('public:')) return ablyName.slice('public:'.length);
  return null;
}

/**
 * What @ably/laravel-echo sends as the socket id (`X-Socket-ID`): base64url of
 * `{"connectionKey": ..., "clientId": ... | null}`. Publishing with that connection key makes the
 * message the connection's own, which a client with `echoMessages: false` does not receive: that is
 * Laravel's `toOthers` on Ably.
 */
export interface AblySocketId {
  connectionKey: string;
  clientId: string | null;
}

const BASE64URL = /^[A-Za-z0-9_-]{1,1024}$/;

function fromBase64Url(text: string): string {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const bytes = Uint8Array.from(atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4)), (c) => c.charCodeAt(0));
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
}

/** base64url without padding, of UTF-8 text. */
export function toBase64Url(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Decodes an Ably socket id, or returns null when `socketId` is not one (Laravel's
 * `Utils::decodeSocketId` requires `connectionKey` and a `clientId` key, null when anonymous).
 */
export function decodeAblySocketId(socketId: string): AblySocketId | null {
  if (!BASE64URL.test(socketId)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(fromBase64Url(socketId));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const { connectionKey, clientId } = parsed as Record<string, unknown>;
  if (typeof connectionKey !== 'string' || connectionKey === '') return null;
  if (!(clientId === null || typeof clientId === 'string')) return null;
  return { connectionKey, clientId };
}

/** The socket id @ably/laravel-echo's `socketId()` builds for a connection. */
export function encodeAblySocketId(socketId: AblySocketId): string {
  return toBase64Url(JSON.stringify({ connectionKey: socketId.connectionKey, clientId: socketId.clientId }));
}
