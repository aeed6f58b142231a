/**
 * Ably token auth for `POST /broadcasting/auth`, as Laravel's Ably broadcaster answers
 * @ably/laravel-echo (ably/laravel-broadcaster 1.0.7, src/AblyBroadcaster.php `auth` and
 * `getSignedToken`; ably-forks/laravel-echo 1.0.6, src/channel/ably/auth.ts):
 *
 * - Echo posts JSON `{channel_name, token}`: `channel_name` is null when the connection first
 *   authenticates, else the Ably name it attaches (`private:user.1`); `token` is the JWT it holds.
 * - The answer is `{token}` plus `info`, the member data, for a presence channel; Echo enters
 *   presence with that `info`.
 * - The token is an Ably JWT (https://ably.com/docs/auth/token/jwt): HS256 with the key secret,
 *   header `kid` = the key name (`appId.keyId`), claims `iat`, `exp`, `x-ably-clientId` (the user
 *   id) and `x-ably-capability` (a JSON string). A new token lives ABLY_TOKEN_EXPIRY seconds
 *   (Laravel: 8 hours); an upgrade keeps the held token's `iat`, `exp` and capabilities and adds
 *   the channel.
 *
 * Where Tidings is stricter than Laravel:
 * - A held token's capabilities carry over only when it verifies with our key and names the same
 *   clientId (Laravel checks the signature and expiry only), so one user's token does not widen
 *   another's.
 * - A private channel gets `subscribe` and a presence channel `subscribe` and `presence`, not
 *   Laravel's default `*`: with `publish`, a browser could send its own `email.received` events to
 *   its other tabs.
 */
import { jwtVerify, SignJWT } from 'jose';
import { ablyChannelName, pusherChannelName } from './ably-rules.ts';
import type { ChannelRules, ChannelUser } from './channel-rules.ts';

/** Ably's capability map: channel name (or `namespace:*`) to operations. */
export type AblyCapability = Record<string, string[]>;

/** Laravel's public-channel capability (`publicChannelsClaims`). */
const PUBLIC_CHANNELS: AblyCapability = { 'public:*': ['subscribe', 'history', 'channel-metadata'] };

const OPERATIONS = { private: ['subscribe'], presence: ['subscribe', 'presence'] } as const;

/** The key that signs tokens, and how long a new one lives. */
export interface AblyTokenSettings {
  key: { name: string; secret: string };
  tokenTtlSeconds: number;
  /**
   * When the user's Supabase session token expires (its `exp`, Unix seconds): an Ably token never
   * outlives it, so a revoked session loses its channels as soon as it would lose the API.
   */
  sessionExpiresAt?: number;
}

/** What /broadcasting/auth answers, or why it refuses (status 400 or 403). */
export type AblyAuthorization = { token: string; info?: Record<string, unknown> } | { refused: 400 | 403; reason: string };

/** The claims of a token we signed for this user that has not expired, or null. */
async function heldClaims(
  token: string | null | undefined,
  user: ChannelUser,
  settings: AblyTokenSettings,
  now: number,
): Promise<{ iat: number; exp: number; capability: AblyCapability } | null> {
  if (!token) return null;
  try {
    const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(settings.key.secret), {
      algorithms: ['HS256'],
      currentDate: new Date(now * 1000),
    });
    if (protectedHeader.kid !== settings.key.name || payload['x-ably-clientId'] !== user.id) return null;
    const capability = JSON.parse(String(payload['x-ably-capability'])) as unknown;
    if (typeof payload.iat !== 'number' || typeof payload.exp !== 'number' || typeof capability !== 'object' || capability === null)
      return null;
    return { iat: payload.iat, exp: payload.exp, capability: capability as AblyCapability };
  } catch {
    // Expired, forged, or not a JWT: start a new token, as Laravel does.
    return null;
  }
}

/**
 * Signs the Ably token for `user` and `channelName` (an Ably name, or null for the connection's
 * first token) under `rules`.
 */
export async function authorizeAbly(
  rules: ChannelRules,
  user: ChannelUser,
  request: { channelName: string | null; token: string | null },
  settings: AblyTokenSettings,
  now = Math.floor(Date.now() / 1000),
): Promise<AblyAuthorization> {
  const held = await heldClaims(request.token, user, settings, now);
  const capability: AblyCapability = { ...(held?.capability ?? PUBLIC_CHANNELS) };
  let info: Record<string, unknown> | undefined;
  const { channelName } = request;
  if (channelName !== null) {
    const pusherName = pusherChannelName(channelName);
    if (pusherName === null) {
      return {
        refused: 400,
        reason: `Invalid channel name: '${channelName.slice(0, 200)}' (expected a private:, presence: or public: channel)`,
      };
    }
    // Public channels are open to all: the `public:*` capability covers them.
    if (!channelName.startsWith('public:')) {
      const decision = await rules.authorize(user, pusherName);
      if (!decision.allowed) return { refused: 403, reason: decision.reason };
      if (decision.kind === 'encrypted') {
        return { refused: 403, reason: `${channelName} is an end-to-end encrypted channel, which only the Pusher protocol has` };
      }
      capability[ablyChannelName(pusherName)] = [...OPERATIONS[decision.kind]];
      if (decision.kind === 'presence') info = decision.memberInfo;
    }
  }
  const iat = held?.iat ?? now;
  const exp = Math.min(held?.exp ?? now + settings.tokenTtlSeconds, settings.sessionExpiresAt ?? Number.POSITIVE_INFINITY);
  const token = await new SignJWT({ 'x-ably-capability': JSON.stringify(capability), 'x-ably-clientId': user.id })
    .setProtectedHeader({ typ: 'JWT', alg: 'HS256', kid: settings.key.name })
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(settings.key.secret));
  return info ? { token, info } : { token };
}
