/**
 * The Pusher Channels protocol (version 7) as this server speaks it: close codes, wire messages,
 * channel kinds and the validators that quote the bad value. Shared by the Durable Object, the
 * HTTP API and the tests; see ../shared/PROTOCOL.md.
 */

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

/** Pusher's published limits, shared by the WebSocket and HTTP sides. */
export const Limits = {
  channelNameLength: 164,
  eventNameLength: 200,
  eventDataBytes: 10 * 1024,
  channelsPerEvent: 100,
  eventsPerBatch: 10,
  userIdLength: 128,
  userInfoBytes: 1024,
  clientEventsPerSecond: 10,
  watchlistSize: 100,
  /** A client frame may carry an event plus its envelope (auth, channel_data); larger is refused. */
  frameBytes: 20 * 1024,
  cacheTtlSeconds: 30 * 60,
} as const;

/** A frame the server sends. `data` is a JSON string for protocol events, as pusher-js expects. */
export interface ServerMessage {
  event: string;
  channel?: string;
  data?: unknown;
  user_id?: string;
}

/** A frame a client sends, after JSON parsing and a shape check. */
export interface ClientMessage {
  event: string;
  channel?: string;
  data: unknown;
}

/** Serialises a server frame. Protocol events carry `data` as a JSON string (pusher-js decodes it). */
export function encode(message: ServerMessage): string {
  return JSON.stringify(message);
}

/** `pusher:connection_established` with the socket id and activity timeout (seconds). */
export function connectionEstablished(socketId: string, activityTimeout: number): string {
  return encode({
    event: 'pusher:connection_established',
    data: JSON.stringify({ socket_id: socketId, activity_timeout: activityTimeout }),
  });
}

/** `pusher:error`; code is null for errors that are not close codes. */
export function errorFrame(message: string, code: number | null = null): string {
  return encode({ event: 'pusher:error', data: { message, code } });
}

export const PONG_FRAME = encode({ event: 'pusher:pong', data: '{}' });
export const PING_FRAME = encode({ event: 'pusher:ping', data: '{}' });
/** Exactly what pusher-js sends as its ping, so the runtime can answer without waking the object. */
export const CLIENT_PING_FRAME = JSON.stringify({ event: 'pusher:ping', data: {} });

/** Parses a client frame; returns an error sentence instead of throwing. */
export function decodeClientMessage(text: string): ClientMessage | string {
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

const CHANNEL_NAME = /^[A-Za-z0-9_\-=@,.;]+$/;
const SERVER_TO_USER = '#server-to-user-';
const SOCKET_ID = /^\d+\.\d+$/;

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

/**
 * Checks a channel name; returns the problem or null. `allowServerChannels` admits
 * `#server-to-user-{id}`, which only the server (and pusher-js after sign-in) may use.
 */
export function channelNameProblem(name: unknown, allowServerChannels = false): string | null {
  if (typeof name !== 'string') return `Invalid channel name: ${JSON.stringify(name)} (expected a string)`;
  const body = allowServerChannels && name.startsWith(SERVER_TO_USER) ? name.slice(1) : name;
  if (name.length === 0 || name.length > Limits.channelNameLength || !CHANNEL_NAME.test(body)) {
    return `Invalid channel name: '${name.slice(0, 200)}' (at most ${Limits.channelNameLength} of [A-Za-z0-9_\\-=@,.;])`;
  }
  return null;
}

/** Checks a socket id; returns the problem or null. */
export function socketIdProblem(socketId: unknown): string | null {
  return typeof socketId === 'string' && SOCKET_ID.test(socketId) ? null : `Invalid socket id: '${String(socketId)}'`;
}

/** Checks an event name; returns the problem or null. */
export function eventNameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name.length === 0) return `Invalid event name: ${JSON.stringify(name)} (expected a non-empty string)`;
  if (name.length > Limits.eventNameLength) return `Event name too long: ${name.length} characters (at most ${Limits.eventNameLength})`;
  return null;
}

/** Size in bytes of a string once UTF-8 encoded. */
export function byteLength(text: string): number {
  return new TextEncoder().encode(text).byteLength;
}

/** A fresh socket id of the form `123.456`, unguessable enough that it cannot be used to spoof exclusion. */
export function newSocketId(): string {
  const [a, b] = crypto.getRandomValues(new Uint32Array(2));
  return `${a! % 1_000_000_000}.${b! % 1_000_000_000}`;
}
