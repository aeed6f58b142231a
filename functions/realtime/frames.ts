/**
 * The wire frames of the Pusher Channels protocol (version 7): close codes, typed builders for
 * every frame the server sends, and the decoder for what clients send. Protocol events carry
 * `data` as a JSON string, as pusher-js expects.
 */

/**
 * At most this many connection shards per app. Each shard is one Durable Object; a channel object
 * fans out to at most this many in parallel.
 */
export const MAX_SHARDS = 256;

/** Close and error codes; pusher-js acts on the range (4000s refused, 4100s back off, 4200s reconnect). */
export const CloseCode = {
  appDoesNotExist: 4001,
  appDisabled: 4003,
  overConnectionQuota: 4004,
  pathNotFound: 4005,
  invalidVersion: 4006,
  unsupportedProtocol: 4007,
  noProtocol: 4008,
  unauthorized: 4009,
  overCapacity: 4100,
  genericReconnect: 4200,
  pongNotReceived: 4201,
  closedAfterInactivity: 4202,
  clientEventRateLimit: 4301,
  watchlistOverLimit: 4302,
} as const;

export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** The protocol version pusher-js speaks and this server accepts. */
export const PROTOCOL_VERSION = 7;

/** The members of a presence channel as `subscription_succeeded` lists them. */
export interface PresenceData {
  ids: string[];
  hash: Record<string, unknown>;
  count: number;
}

/** A watchlist change for the sockets watching a user. */
export interface WatchlistEvent {
  name: 'online' | 'offline';
  user_ids: string[];
}

/** Every frame the server sends, as a discriminated union on `event`. */
export type ServerMessage =
  | { event: 'pusher:connection_established'; data: string }
  | { event: 'pusher:error'; data: { message: string; code: number | null } }
  | { event: 'pusher:ping' | 'pusher:pong'; data: '{}' }
  | { event: 'pusher:signin_success'; data: string }
  | { event: 'pusher:cache_miss'; channel: string }
  | { event: 'pusher:subscription_error'; channel: string; data: string }
  | { event: 'pusher_internal:subscription_succeeded'; channel: string; data: string }
  | { event: 'pusher_internal:member_added' | 'pusher_internal:member_removed'; channel: string; data: string }
  | { event: 'pusher_internal:subscription_count'; channel: string; data: string }
  | { event: 'pusher_internal:watchlist_events'; data: string }
  /** An app event (published, cached or a client event); `data` as the publisher gave it. */
  | { event: string; channel: string; data: unknown; user_id?: string };

function encode(message: ServerMessage): string {
  return JSON.stringify(message);
}

/** Builders for the frames the server sends, each returning the JSON text to send. */
export const frame = {
  connectionEstablished: (socketId: string, activityTimeout: number) =>
    encode({ event: 'pusher:connection_established', data: JSON.stringify({ socket_id: socketId, activity_timeout: activityTimeout }) }),
  /** `pusher:error`; code is null for errors that do not close the connection. */
  error: (message: string, code: number | null = null) => encode({ event: 'pusher:error', data: { message, code } }),
  subscriptionSucceeded: (channel: string, presence?: PresenceData) =>
    encode({ event: 'pusher_internal:subscription_succeeded', channel, data: JSON.stringify(presence ? { presence } : {}) }),
  subscriptionError: (channel: string, status: number, error: string) => {
    const type = status === 401 ? 'AuthError' : status === 403 || status === 429 ? 'LimitReached' : 'InvalidData';
    return encode({ event: 'pusher:subscription_error', channel, data: JSON.stringify({ type, error, status }) });
  },
  memberAdded: (channel: string, userId: string, userInfo: unknown) =>
    encode({ event: 'pusher_internal:member_added', channel, data: JSON.stringify({ user_id: userId, user_info: userInfo }) }),
  memberRemoved: (channel: string, userId: string) =>
    encode({ event: 'pusher_internal:member_removed', channel, data: JSON.stringify({ user_id: userId }) }),
  subscriptionCount: (channel: string, count: number) =>
    encode({ event: 'pusher_internal:subscription_count', channel, data: JSON.stringify({ subscription_count: count }) }),
  cacheMiss: (channel: string) => encode({ event: 'pusher:cache_miss', channel }),
  /** An app event: published through the API, replayed from the cache, or a client event (with `user_id` on presence). */
  event: (channel: string, name: string, data: unknown, userId?: string | null) =>
    encode({ event: name, channel, data, ...(userId ? { user_id: userId } : {}) }),
  /** An app event whose data is JSON text already (a client event), put in place without parsing it. */
  eventWithJsonData: (channel: string, name: string, dataJson: string, userId?: string | null) =>
    `{"event":${JSON.stringify(name)},"channel":${JSON.stringify(channel)},"data":${dataJson}${userId ? `,"user_id":${JSON.stringify(userId)}` : ''}}`,
  signinSuccess: (userData: string) => encode({ event: 'pusher:signin_success', data: JSON.stringify({ user_data: userData }) }),
  /** `pusher_internal:watchlist_events`, which pusher-js hands to `pusher.user.watchlist`. */
  watchlistEvents: (events: WatchlistEvent[]) => encode({ event: 'pusher_internal:watchlist_events', data: JSON.stringify({ events }) }),
};

export const PONG_FRAME = encode({ event: 'pusher:pong', data: '{}' });
export const PING_FRAME = encode({ event: 'pusher:ping', data: '{}' });
/** Exactly what pusher-js sends as its ping, so the runtime can answer without waking the object. */
export const CLIENT_PING_FRAME = JSON.stringify({ event: 'pusher:ping', data: {} });

/** A frame a client sends, after JSON parsing and a shape check. */
export interface ClientMessage {
  event: string;
  channel?: string;
  data: unknown;
}

/** How deep a client frame's JSON may nest (the envelope takes two levels of it). */
export const MAX_FRAME_DEPTH = 32;

/** The deepest nesting of arrays and objects in JSON text, counted without parsing it. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/** Parses a client frame; returns an error sentence instead of throwing. */
export function decodeClientMessage(text: string): ClientMessage | string {
  if (jsonDepth(text) > MAX_FRAME_DEPTH) return `Message nested too deep: at most ${MAX_FRAME_DEPTH} levels of arrays and objects`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return `Invalid JSON: '${text.slice(0, 80)}'`;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return 'Invalid message: expected a JSON object with an "event" string';
  }
  const { event, channel, data } = parsed as Record<string, unknown>;
  if (typeof event !== 'string' || event.length === 0) {
    return 'Invalid message: expected a JSON object with an "event" string';
  }
  if (channel !== undefined && typeof channel !== 'string') {
    return `Invalid message: "channel" must be a string, got ${JSON.stringify(channel)}`;
  }
  return { event, channel, data };
}

/** `data` of a pusher event may arrive as an object or a JSON string; returns the object. */
export function dataObject(data: unknown): Record<string, unknown> | null {
  let value = data;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return null;
    }
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/**
 * A fresh socket id of the form `123.456` for a socket on `shard`, unguessable enough that it cannot
 * be used to spoof exclusion. Its first number is random but ≡ shard (mod MAX_SHARDS, 256), so logs and tests
 * can tell where a socket lives from its id alone ({@link shardOfSocketId}).
 */
export function newSocketId(shard: number): string {
  const [a, b] = crypto.getRandomValues(new Uint32Array(2));
  return `${(a! % Math.floor(1_000_000_000 / MAX_SHARDS)) * MAX_SHARDS + shard}.${b! % 1_000_000_000}`;
}

/** The shard of a socket id made by {@link newSocketId}. */
export function shardOfSocketId(socketId: string): number {
  return Number(socketId.slice(0, socketId.indexOf('.'))) % MAX_SHARDS;
}
