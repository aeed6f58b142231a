/**
 * Subscriptions and presence, on the shard's side: checking a `pusher:subscribe` (name, auth,
 * presence member), joining through the channel object, and the shard's own record of which of its
 * sockets are in which channel (the fan-out reads it from memory; SQLite keeps it across eviction).
 */
import { byteLength, channelKind, channelNameProblem, Limits, serverToUserId } from '../broadcast/pusher-rules.ts';
import type { JoinResult } from './channel.ts';
import type { Member } from './channel-state.ts';
import type { Connection } from './connection.ts';
import { type ClientMessage, CloseCode, dataObject, frame } from './frames.ts';
import { takeInSecond } from './rate-limits.ts';
import type { ShardContext } from './shard-context.ts';
import { channelAuth, constantTimeEqual } from './signatures.ts';

/**
 * The channels of this shard's sockets. Memory mirrors SQLite (loaded at start), so a fan-out
 * reads no rows. A socket that is joining (its channel object has not answered yet) collects the
 * frames sent meanwhile, which it gets right after its `subscription_succeeded`. A leave that the
 * channel object failed is owed (SQLite, mirrored in memory) until the shard's alarm makes it again.
 */
/** A join under way: the frames to send after its `subscription_succeeded`, and whether the socket left meanwhile. */
interface Join {
  frames: string[];
  cancelled: boolean;
}

export class LocalSubscriptions {
  readonly #sql: SqlStorage;
  readonly #byChannel = new Map<string, Set<string>>();
  readonly #bySocket = new Map<string, Set<string>>();
  /** Joins under way, by channel, then socket. */
  readonly #joining = new Map<string, Map<string, Join>>();
  /** Owed leaves by channel, then socket: a subscribe clears one without a write when none is owed. */
  readonly #owed = new Map<string, Set<string>>();

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(
      'create table if not exists local_subscriptions (channel text not null, socket_id text not null, primary key (channel, socket_id))',
    );
    sql.exec('create table if not exists owed_leaves (channel text not null, socket_id text not null, primary key (channel, socket_id))');
    for (const row of sql.exec<{ channel: string; socket_id: string }>('select channel, socket_id from local_subscriptions')) {
      this.#remember(row.channel, row.socket_id);
    }
    for (const row of sql.exec<{ channel: string; socket_id: string }>('select channel, socket_id from owed_leaves')) {
      this.#owed.set(row.channel, (this.#owed.get(row.channel) ?? new Set()).add(row.socket_id));
    }
  }

  has(channel: string, socketId: string): boolean {
    return this.#byChannel.get(channel)?.has(socketId) ?? false;
  }

  /** The sockets of this shard in a channel (the fan-out's hot path). */
  sockets(channel: string): ReadonlySet<string> | undefined {
    return this.#byChannel.get(channel);
  }

  channelsOf(socketId: string): string[] {
    return [...(this.#bySocket.get(socketId) ?? [])];
  }

  /** How many channels a socket is in or joining. */
  countOf(socketId: string): number {
    let joining = 0;
    for (const sockets of this.#joining.values()) if (sockets.has(socketId)) joining += 1;
    return (this.#bySocket.get(socketId)?.size ?? 0) + joining;
  }

  /** Every channel with a socket of this shard in it. */
  channels(): string[] {
    return [...this.#byChannel.keys()];
  }

  /** Every socket id with a subscription. */
  socketIds(): string[] {
    return [...this.#bySocket.keys()];
  }

  /** Starts collecting the frames a joining socket must get after its `subscription_succeeded`. */
  beginJoin(channel: string, socketId: string): void {
    const joining = this.#joining.get(channel) ?? new Map<string, Join>();
    this.#joining.set(channel, joining);
    joining.set(socketId, { frames: [], cancelled: false });
  }

  /**
   * An unsubscribe that came while the socket's join is under way (frames are handled in order,
   * the join's answer is not): the join, once done, leaves again. False when no join is under way.
   */
  cancelJoin(channel: string, socketId: string): boolean {
    const join = this.#joining.get(channel)?.get(socketId);
    if (!join) return false;
    join.cancelled = true;
    return true;
  }

  /**
   * Ends a join: the frames collected meanwhile, in order (the caller sends them or drops them), and
   * whether the socket unsubscribed meanwhile.
   */
  endJoin(channel: string, socketId: string): Join {
    const joining = this.#joining.get(channel);
    const join = joining?.get(socketId) ?? { frames: [], cancelled: false };
    joining?.delete(socketId);
    if (joining?.size === 0) this.#joining.delete(channel);
    return join;
  }

  /** Records that a joining socket will get `text` once it has joined (unless it is `except`). */
  collect(channel: string, text: string, exceptSocketId?: string): void {
    const joining = this.#joining.get(channel);
    if (!joining) return;
    for (const [socketId, join] of joining) if (socketId !== exceptSocketId) join.frames.push(text);
  }

  add(channel: string, socketId: string): void {
    // A socket back in a channel it failed to leave: the join replaced the old subscription.
    this.settle(channel, socketId);
    if (this.has(channel, socketId)) return;
    this.#sql.exec('insert or ignore into local_subscriptions (channel, socket_id) values (?, ?)', channel, socketId);
    this.#remember(channel, socketId);
  }

  /** Removes a subscription; false when there was none. */
  remove(channel: string, socketId: string): boolean {
    if (!this.has(channel, socketId)) return false;
    this.#sql.exec('delete from local_subscriptions where channel = ? and socket_id = ?', channel, socketId);
    const sockets = this.#byChannel.get(channel)!;
    sockets.delete(socketId);
    if (sockets.size === 0) this.#byChannel.delete(channel);
    const channels = this.#bySocket.get(socketId)!;
    channels.delete(channel);
    if (channels.size === 0) this.#bySocket.delete(socketId);
    return true;
  }

  /** Records a leave the channel object failed, to be made again. */
  owe(channel: string, socketId: string): void {
    const sockets = this.#owed.get(channel) ?? new Set<string>();
    if (sockets.has(socketId)) return;
    this.#sql.exec('insert or ignore into owed_leaves (channel, socket_id) values (?, ?)', channel, socketId);
    this.#owed.set(channel, sockets.add(socketId));
  }

  /** The leaves still owed. */
  owed(): Array<{ channel: string; socketId: string }> {
    return [...this.#owed].flatMap(([channel, sockets]) => [...sockets].map((socketId) => ({ channel, socketId })));
  }

  /** No leave of the socket from the channel is owed any more (it was made, or the socket joined again). */
  settle(channel: string, socketId: string): void {
    const sockets = this.#owed.get(channel);
    if (!sockets?.delete(socketId)) return;
    if (sockets.size === 0) this.#owed.delete(channel);
    this.#sql.exec('delete from owed_leaves where channel = ? and socket_id = ?', channel, socketId);
  }

  #remember(channel: string, socketId: string): void {
    const sockets = this.#byChannel.get(channel) ?? new Set<string>();
    this.#byChannel.set(channel, sockets.add(socketId));
    const channels = this.#bySocket.get(socketId) ?? new Set<string>();
    this.#bySocket.set(socketId, channels.add(channel));
  }
}

/** Parses presence channel_data: `{"user_id": string|number, "user_info"?: object}` within Pusher's limits. */
export function parseMember(channelData: string): Member | string {
  const data = dataObject(channelData);
  const rawId = data?.user_id;
  if (data === null || (typeof rawId !== 'string' && typeof rawId !== 'number') || String(rawId).length === 0) {
    return 'Invalid channel_data: expected a JSON object with a user_id';
  }
  const userId = String(rawId);
  if (userId.length > Limits.userIdLength) return `Invalid user_id: ${userId.length} characters (at most ${Limits.userIdLength})`;
  const userInfo = data.user_info === undefined ? null : JSON.stringify(data.user_info);
  if (userInfo !== null && byteLength(userInfo) > Limits.userInfoBytes) {
    return `user_info too large: ${byteLength(userInfo)} bytes (at most ${Limits.userInfoBytes})`;
  }
  return { userId, userInfo };
}

/** What a `pusher:subscribe` asks for once checked: the channel and the presence member, or a refusal. */
export type SubscribeCheck =
  | { ok: true; channel: string; member: Member | null }
  | { ok: false; channel: string | null; status: number; error: string };

/** Checks a `pusher:subscribe` against the channel name rules and the app's signatures. */
export function checkSubscribe(app: { key: string; secret: string }, connection: Connection, message: ClientMessage): SubscribeCheck {
  const { state } = connection;
  const data = dataObject(message.data);
  const channel = data?.channel;
  const problem = channelNameProblem(channel, true);
  if (problem || typeof channel !== 'string') {
    return { ok: false, channel: null, status: 400, error: problem ?? 'Invalid pusher:subscribe: expected data {channel}' };
  }
  const kind = channelKind(channel);
  if (kind.serverToUser && state.userId !== serverToUserId(channel)) {
    return { ok: false, channel, status: 403, error: 'Only a socket signed in as this user may subscribe to its server-to-user channel' };
  }
  if (!kind.authorized) return { ok: true, channel, member: null };
  const channelData = kind.presence ? data?.channel_data : undefined;
  if (kind.presence && typeof channelData !== 'string') {
    return { ok: false, channel, status: 401, error: 'Presence channels need channel_data (a JSON string with user_id)' };
  }
  const expected = channelAuth(app.key, app.secret, state.socketId, channel, channelData as string | undefined);
  if (typeof data?.auth !== 'string' || !constantTimeEqual(data.auth, expected)) {
    return {
      ok: false,
      channel,
      status: 401,
      error: `Invalid signature for channel '${channel}': sign socket_id:channel${kind.presence ? ':channel_data' : ''} with the app secret`,
    };
  }
  if (!kind.presence) return { ok: true, channel, member: null };
  const member = parseMember(channelData as string);
  return typeof member === 'string' ? { ok: false, channel, status: 400, error: member } : { ok: true, channel, member };
}

/**
 * `pusher:subscribe`: checks it, joins through the channel object, then answers
 * `subscription_succeeded` (with the members of a presence channel), the cached event of a cache
 * channel, and whatever the channel sent while the join was under way, in that order.
 */
export async function subscribe(ctx: ShardContext, connection: Connection, message: ClientMessage): Promise<void> {
  const { app } = ctx;
  const rate = takeInSecond(connection.state.subscribes, Date.now(), app.subscribesPerSecond);
  if (rate === 'close') {
    ctx.log.info('connection closed: subscribe flood', { socket_id: connection.state.socketId });
    await ctx.close(connection, CloseCode.overCapacity, `Subscribe flood: over ${app.subscribesPerSecond * 5} in a second`);
    return;
  }
  const check = checkSubscribe(app, connection, message);
  if (!check.ok) {
    if (check.status === 401)
      ctx.log.info('subscription refused: invalid auth', { socket_id: connection.state.socketId, channel: check.channel });
    ctx.send(
      connection,
      check.channel === null ? frame.error(check.error) : frame.subscriptionError(check.channel, check.status, check.error),
    );
    return;
  }
  const { channel, member } = check;
  const { socketId } = connection.state;
  if (rate === 'reject') {
    const error = `Too many subscribe requests: at most ${app.subscribesPerSecond} per second (REALTIME_SUBSCRIBES_PER_SECOND)`;
    ctx.send(connection, frame.subscriptionError(channel, 429, error));
    return;
  }
  if (!ctx.subscriptions.has(channel, socketId) && ctx.subscriptions.countOf(socketId) >= app.maxChannelsPerConnection) {
    const error = `Too many channels: at most ${app.maxChannelsPerConnection} per connection (REALTIME_MAX_CHANNELS_PER_CONNECTION)`;
    ctx.send(connection, frame.subscriptionError(channel, 403, error));
    return;
  }
  const target = { appId: ctx.app.id, channel };
  // A socket subscribing again already gets the channel's frames: nothing to collect for it.
  if (!ctx.subscriptions.has(channel, socketId)) ctx.subscriptions.beginJoin(channel, socketId);
  let result: JoinResult;
  try {
    result = await ctx.channel(channel).join(target, { socketId, shard: ctx.shard, member });
  } catch (error) {
    ctx.subscriptions.endJoin(channel, socketId);
    ctx.log.error('subscription failed', { socket_id: socketId, channel, error: String(error) });
    ctx.send(connection, frame.subscriptionError(channel, 503, 'The channel could not be joined just now: subscribe again'));
    return;
  }
  const { frames: collected, cancelled } = ctx.subscriptions.endJoin(channel, socketId);
  if (cancelled) {
    // Unsubscribed while joining: the socket asked to leave, so it gets no answer, and leaves.
    if (result.joined) await ctx.leave(channel, socketId);
    ctx.log.debug('unsubscribed while joining', { socket_id: socketId, channel });
    return;
  }
  if (!result.joined) {
    ctx.send(connection, frame.subscriptionError(channel, result.status, result.error));
    return;
  }
  if (!ctx.isOpen(connection)) {
    // Closed while joining: its close handler found no subscription to leave, so leave here.
    await ctx.leave(channel, socketId);
    return;
  }
  ctx.subscriptions.add(channel, socketId);
  ctx.send(connection, frame.subscriptionSucceeded(channel, result.presence));
  if (result.cached !== undefined) {
    ctx.send(connection, result.cached ? frame.event(channel, result.cached.event, result.cached.data) : frame.cacheMiss(channel));
  }
  for (const text of collected) ctx.send(connection, text);
  ctx.log.debug('subscribed', { socket_id: socketId, channel });
}

/** `pusher:unsubscribe`: no reply; the channel object tells the others. */
export async function unsubscribe(ctx: ShardContext, connection: Connection, message: ClientMessage): Promise<void> {
  const channel = dataObject(message.data)?.channel;
  if (typeof channel !== 'string') return;
  if (!ctx.subscriptions.remove(channel, connection.state.socketId)) {
    // Subscribed a moment ago, and not joined yet: the join leaves once it is done.
    ctx.subscriptions.cancelJoin(channel, connection.state.socketId);
    return;
  }
  await ctx.leave(channel, connection.state.socketId);
  ctx.log.debug('unsubscribed', { socket_id: connection.state.socketId, channel });
}
