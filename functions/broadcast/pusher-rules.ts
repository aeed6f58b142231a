/**
 * The Pusher Channels rules and limits, written once: the broadcasters, the channel-auth route, the
 * realtime server and the web client's event definitions all import them from here. Values are
 * Pusher's published ones (protocol 7, HTTP API, presence and client-event limits).
 *
 * Browser-safe: no imports.
 */

/** Pusher's published limits. */
export const Limits = {
  channelNameLength: 164,
  eventNameLength: 200,
  /** Event data, HTTP API and client events alike. */
  eventDataBytes: 10 * 1024,
  channelsPerEvent: 100,
  eventsPerBatch: 10,
  userIdLength: 128,
  userInfoBytes: 1024,
  presenceMembers: 100,
  clientEventsPerSecond: 10,
  watchlistSize: 100,
  /** A client frame may carry an event plus its envelope (auth, channel_data); larger is refused. */
  frameBytes: 20 * 1024,
  cacheTtlSeconds: 30 * 60,
} as const;

/** The characters a channel name may use (`#` only in server channels). */
export const CHANNEL_NAME_CHARACTERS = 'A-Za-z0-9_\\-=@,.;';
/** A whole channel name: 1 to 164 of {@link CHANNEL_NAME_CHARACTERS}. */
export const CHANNEL_NAME = /^[A-Za-z0-9_\-=@,.;]{1,164}$/;
/** A socket id as the server hands it out: `123.456`. */
export const SOCKET_ID = /^\d+\.\d+$/;

const SERVER_TO_USER = '#server-to-user-';

/** What a channel's name makes it. */
export interface ChannelKind {
  /** Needs a signed `auth` to subscribe (private, presence, encrypted). */
  authorized: boolean;
  presence: boolean;
  encrypted: boolean;
  cache: boolean;
  /** `#server-to-user-{id}`: only that signed-in user's sockets may join. */
  serverToUser: boolean;
}

/** Classifies a (valid) channel name by its prefix. */
export function channelKind(name: string): ChannelKind {
  const presence = name.startsWith('presence-');
  const isPrivate = name.startsWith('private-');
  const encrypted = name.startsWith('private-encrypted-');
  const cache = /^(private-encrypted-|private-|presence-)?cache-/.test(name);
  return { authorized: presence || isPrivate, presence, encrypted, cache, serverToUser: name.startsWith(SERVER_TO_USER) };
}

/** The user id of a `#server-to-user-{id}` channel. */
export function serverToUserId(name: string): string {
  return name.slice(SERVER_TO_USER.length);
}

/** The server channel that reaches every signed-in socket of a user. */
export function serverToUserChannel(userId: string): string {
  return `${SERVER_TO_USER}${userId}`;
}

/** The sentence for a bad channel name, quoting it. */
export function invalidChannelName(name: string): string {
  return `Invalid channel name: '${name.slice(0, 200)}' (at most ${Limits.channelNameLength} of [${CHANNEL_NAME_CHARACTERS}])`;
}

/** The sentence for a bad socket id, quoting it. */
export function invalidSocketId(socketId: unknown): string {
  return `Invalid socket id: '${String(socketId).slice(0, 200)}'`;
}

/**
 * Checks a channel name; returns the problem or null. `allowServerChannels` admits
 * `#server-to-user-{id}`, which only the server (and pusher-js after sign-in) may use.
 */
export function channelNameProblem(name: unknown, allowServerChannels = false): string | null {
  if (typeof name !== 'string') return `Invalid channel name: ${JSON.stringify(name)} (expected a string)`;
  const body = allowServerChannels && name.startsWith(SERVER_TO_USER) ? name.slice(1) : name;
  return CHANNEL_NAME.test(body) && name.length <= Limits.channelNameLength ? null : invalidChannelName(name);
}

/** `socketId` when it is one pusher-js hands out, else undefined: another kind (Ably's) names no Pusher connection. */
export function pusherSocketId(socketId: string | undefined): string | undefined {
  return socketId && SOCKET_ID.test(socketId) ? socketId : undefined;
}

/** Checks a socket id; returns the problem or null. */
export function socketIdProblem(socketId: unknown): string | null {
  return typeof socketId === 'string' && SOCKET_ID.test(socketId) ? null : invalidSocketId(socketId);
}

/** Checks an event name; returns the problem or null. */
export function eventNameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name.length === 0) return `Invalid event name: ${JSON.stringify(name)} (expected a non-empty string)`;
  if (name.length > Limits.eventNameLength) return `Event name too long: ${name.length} characters (at most ${Limits.eventNameLength})`;
  return null;
}

const encoder = new TextEncoder();

/** Size in bytes of a string once UTF-8 encoded. */
export function byteLength(text: string): number {
  return encoder.encode(text).byteLength;
}
