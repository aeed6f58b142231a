import { channelKind, Limits } from './protocol.ts';

/** A presence member as a subscription records it. */
export interface Member {
  userId: string;
  /** user_info as JSON text, or null when the auth gave none. */
  userInfo: string | null;
}

/** The `presence` data of `pusher_internal:subscription_succeeded`. */
export interface PresenceData {
  ids: string[];
  hash: Record<string, unknown>;
  count: number;
}

/** A cached event of a cache channel. */
export interface CachedEvent {
  event: string;
  data: string;
  expiresAt: number;
}

/**
 * Channel membership, presence members and cache-channel events, in the object's SQLite storage.
 * It knows socket ids only, never sockets: connections stay with the server, so a later version
 * can move channels to their own objects and fan out across them.
 */
export class ChannelStore {
  private readonly sql: SqlStorage;
  /**
   * Subscribers of channels that published since the object started, mirrored from SQLite (which
   * stays the truth: loaded on a channel's first publish, updated by every subscribe and
   * unsubscribe), so a publish does not read a row per subscriber.
   */
  private readonly subscribers = new Map<string, Set<string>>();

  constructor(sql: SqlStorage) {
    this.sql = sql;
    sql.exec(`create table if not exists subscriptions (
      channel text not null, socket_id text not null, user_id text, user_info text,
      primary key (channel, socket_id))`);
    sql.exec('create index if not exists subscriptions_by_socket on subscriptions (socket_id)');
    sql.exec('create index if not exists subscriptions_by_user on subscriptions (channel, user_id)');
    sql.exec('create table if not exists cached_events (channel text primary key, event text not null, data text not null, expires_at integer not null)');
  }

  /** Whether a socket is subscribed to a channel. */
  isSubscribed(channel: string, socketId: string): boolean {
    return this.sql.exec('select 1 from subscriptions where channel = ? and socket_id = ?', channel, socketId).toArray().length > 0;
  }

  /** The presence member a socket joined a channel as, or null. */
  memberOf(channel: string, socketId: string): string | null {
    const row = this.sql.exec<{ user_id: string | null }>('select user_id from subscriptions where channel = ? and socket_id = ?', channel, socketId).toArray()[0];
    return row?.user_id ?? null;
  }

  /** Records a subscription; tells whether it is the channel's first socket and the user's first socket in it. */
  subscribe(channel: string, socketId: string, member: Member | null): { firstInChannel: boolean; firstForUser: boolean } {
    const firstInChannel = !this.occupied(channel);
    const firstForUser = member !== null && !this.hasUser(channel, member.userId);
    this.sql.exec(
      'insert or replace into subscriptions (channel, socket_id, user_id, user_info) values (?, ?, ?, ?)',
      channel, socketId, member?.userId ?? null, member?.userInfo ?? null,
    );
    this.subscribers.get(channel)?.add(socketId);
    return { firstInChannel, firstForUser };
  }

  /** Removes a subscription; tells whether the channel is now empty and which user, if any, left with it. */
  unsubscribe(channel: string, socketId: string): { left: boolean; lastInChannel: boolean; userGone: string | null } {
    const userId = this.memberOf(channel, socketId);
    const removed = this.sql.exec('delete from subscriptions where channel = ? and socket_id = ?', channel, socketId).rowsWritten > 0;
    if (!removed) return { left: false, lastInChannel: false, userGone: null };
    const mirrored = this.subscribers.get(channel);
    mirrored?.delete(socketId);
    if (mirrored?.size === 0) this.subscribers.delete(channel);
    return {
      left: true,
      lastInChannel: !this.occupied(channel),
      userGone: userId !== null && !this.hasUser(channel, userId) ? userId : null,
    };
  }

  /** Every channel a socket is subscribed to. */
  channelsOf(socketId: string): string[] {
    return this.sql.exec<{ channel: string }>('select channel from subscriptions where socket_id = ?', socketId).toArray().map((row) => row.channel);
  }

  /** Every socket id subscribed to a channel (the fan-out's hot path: from memory after the first call). */
  subscriberIds(channel: string): ReadonlySet<string> {
    let ids = this.subscribers.get(channel);
    if (!ids) {
      ids = new Set(this.sql.exec<{ socket_id: string }>('select socket_id from subscriptions where channel = ?', channel).toArray().map((row) => row.socket_id));
      if (ids.size === 0) return ids;
      this.subscribers.set(channel, ids);
    }
    return ids;
  }

  /** Every socket id with at least one subscription. */
  allSubscriberIds(): string[] {
    return this.sql.exec<{ socket_id: string }>('select distinct socket_id from subscriptions').toArray().map((row) => row.socket_id);
  }

  /** Whether a channel has any subscriber: one index probe, where counting would visit every row (every join and leave asks). */
  occupied(channel: string): boolean {
    return this.sql.exec('select 1 from subscriptions where channel = ? limit 1', channel).toArray().length > 0;
  }

  /** Sockets subscribed to a channel. */
  subscriptionCount(channel: string): number {
    return this.sql.exec<{ n: number }>('select count(*) as n from subscriptions where channel = ?', channel).one().n;
  }

  /** Distinct users in a presence channel (a user with several sockets counts once). */
  userCount(channel: string): number {
    return this.sql.exec<{ n: number }>('select count(distinct user_id) as n from subscriptions where channel = ? and user_id is not null', channel).one().n;
  }

  /** Whether a user has at least one socket in a channel. */
  hasUser(channel: string, userId: string): boolean {
    return this.sql.exec('select 1 from subscriptions where channel = ? and user_id = ? limit 1', channel, userId).toArray().length > 0;
  }

  /** The members of a presence channel, each user once (with the info of its first socket). */
  members(channel: string): PresenceData {
    const rows = this.sql
      // SQLite takes bare columns from the row that min() picked: the user's first socket.
      .exec<{ user_id: string; user_info: string | null; first: number }>(
        `select user_id, user_info, min(rowid) as first from subscriptions
         where channel = ? and user_id is not null group by user_id order by first`,
        channel,
      )
      .toArray();
    const hash: Record<string, unknown> = {};
    for (const row of rows) hash[row.user_id] = row.user_info === null ? null : JSON.parse(row.user_info);
    return { ids: rows.map((row) => row.user_id), hash, count: rows.length };
  }

  /** Occupied channels, optionally those starting with a prefix (server-to-user channels excluded). */
  occupiedChannels(prefix = ''): string[] {
    return this.sql
      .exec<{ channel: string }>("select distinct channel from subscriptions where substr(channel, 1, length(?)) = ? and channel not like '#%' order by channel", prefix, prefix)
      .toArray()
      .map((row) => row.channel);
  }

  /** Keeps a cache channel's last event for Pusher's 30 minutes. */
  cacheEvent(channel: string, event: string, data: string, now: number): void {
    if (!channelKind(channel).cache) return;
    this.sql.exec(
      'insert or replace into cached_events (channel, event, data, expires_at) values (?, ?, ?, ?)',
      channel, event, data, now + Limits.cacheTtlSeconds * 1000,
    );
  }

  /** A cache channel's last event if it has not expired. */
  cachedEvent(channel: string, now: number): CachedEvent | null {
    this.sql.exec('delete from cached_events where expires_at <= ?', now);
    const row = this.sql.exec<{ event: string; data: string; expires_at: number }>('select event, data, expires_at from cached_events where channel = ?', channel).toArray()[0];
    return row ? { event: row.event, data: row.data, expiresAt: row.expires_at } : null;
  }
}
