/**
 * What one channel object keeps in its SQLite storage: the channel's subscribers (socket id, the
 * shard that holds the socket, the presence member), its cached event, and, for a user's
 * `#server-to-user-{id}` channel, the user's signed-in sockets and who watches the user. It knows
 * socket ids and shard numbers, never sockets: those live in the connection shards.
 */
import { Limits } from '../broadcast/pusher-rules.ts';
import type { PresenceData } from './frames.ts';

/** A presence member as a subscription records it. */
export interface Member {
  userId: string;
  /** user_info as JSON text, or null when the auth gave none. */
  userInfo: string | null;
}

/** One socket's subscription, as a shard reports it. */
export interface Subscriber {
  socketId: string;
  shard: number;
  member: Member | null;
}

/** A cached event of a cache channel. */
export interface CachedEvent {
  event: string;
  data: string;
  expiresAt: number;
}

/** Which app and channel an object serves (an object cannot read the name it was created from). */
export interface ChannelTarget {
  appId: string;
  channel: string;
}

export class ChannelState {
  readonly #sql: SqlStorage;
  /** Subscribers per shard, mirrored from SQLite: a publish reads no rows to know where to fan out. */
  readonly #perShard = new Map<number, number>();

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(`create table if not exists subscribers (
      socket_id text primary key, shard integer not null, user_id text, user_info text)`);
    sql.exec('create index if not exists subscribers_by_user on subscribers (user_id)');
    sql.exec(
      'create table if not exists cached_event (id integer primary key check (id = 1), event text not null, data text not null, expires_at integer not null)',
    );
    sql.exec('create table if not exists signed_in (socket_id text primary key, shard integer not null)');
    sql.exec('create table if not exists watchers (socket_id text primary key, shard integer not null)');
    sql.exec('create table if not exists target (id integer primary key check (id = 1), app_id text not null, channel text not null)');
    for (const row of sql.exec<{ shard: number; n: number }>('select shard, count(*) as n from subscribers group by shard')) {
      this.#perShard.set(row.shard, row.n);
    }
  }

  #count(shard: number, change: 1 | -1): void {
    const count = (this.#perShard.get(shard) ?? 0) + change;
    if (count > 0) this.#perShard.set(shard, count);
    else this.#perShard.delete(shard);
  }

  /** The app and channel this object serves, once a first call told it. */
  target(): ChannelTarget | null {
    const row = this.#sql.exec<{ app_id: string; channel: string }>('select app_id, channel from target').toArray()[0];
    return row ? { appId: row.app_id, channel: row.channel } : null;
  }

  rememberTarget(target: ChannelTarget): void {
    this.#sql.exec('insert or ignore into target (id, app_id, channel) values (1, ?, ?)', target.appId, target.channel);
  }

  isSubscribed(socketId: string): boolean {
    return this.#sql.exec('select 1 from subscribers where socket_id = ?', socketId).toArray().length > 0;
  }

  /** Records a subscription; tells whether it is the channel's first socket and the user's first socket in it. */
  subscribe(subscriber: Subscriber): { firstInChannel: boolean; firstForUser: boolean } {
    const { socketId, shard, member } = subscriber;
    const firstInChannel = !this.occupied();
    const firstForUser = member !== null && !this.hasUser(member.userId);
    const previous = this.#sql.exec<{ shard: number }>('select shard from subscribers where socket_id = ?', socketId).toArray()[0];
    if (previous) this.#count(previous.shard, -1);
    this.#count(shard, 1);
    this.#sql.exec(
      'insert or replace into subscribers (socket_id, shard, user_id, user_info) values (?, ?, ?, ?)',
      socketId,
      shard,
      member?.userId ?? null,
      member?.userInfo ?? null,
    );
    return { firstInChannel, firstForUser };
  }

  /** Removes a subscription; tells whether the channel is now empty and which user, if any, left with it. */
  unsubscribe(socketId: string): { left: boolean; lastInChannel: boolean; userGone: string | null } {
    const row = this.#sql
      .exec<{ user_id: string | null; shard: number }>('select user_id, shard from subscribers where socket_id = ?', socketId)
      .toArray()[0];
    if (!row) return { left: false, lastInChannel: false, userGone: null };
    this.#sql.exec('delete from subscribers where socket_id = ?', socketId);
    this.#count(row.shard, -1);
    return {
      left: true,
      lastInChannel: !this.occupied(),
      userGone: row.user_id !== null && !this.hasUser(row.user_id) ? row.user_id : null,
    };
  }

  /** The presence user a socket joined as, or null. */
  memberOf(socketId: string): string | null {
    return (
      this.#sql.exec<{ user_id: string | null }>('select user_id from subscribers where socket_id = ?', socketId).toArray()[0]?.user_id ??
      null
    );
  }

  /** The shards that hold at least one subscriber (from memory). */
  shards(): number[] {
    return [...this.#perShard.keys()];
  }

  occupied(): boolean {
    return this.#perShard.size > 0;
  }

  subscriptionCount(): number {
    return this.#sql.exec<{ n: number }>('select count(*) as n from subscribers').one().n;
  }

  /** Distinct users in a presence channel (a user with several sockets counts once). */
  userCount(): number {
    return this.#sql.exec<{ n: number }>('select count(distinct user_id) as n from subscribers where user_id is not null').one().n;
  }

  hasUser(userId: string): boolean {
    return this.#sql.exec('select 1 from subscribers where user_id = ? limit 1', userId).toArray().length > 0;
  }

  /** The members of a presence channel, each user once (with the info of its first socket). */
  members(): PresenceData {
    const rows = this.#sql
      // SQLite takes bare columns from the row that min() picked: the user's first socket.
      .exec<{ user_id: string; user_info: string | null; first: number }>(
        `select user_id, user_info, min(rowid) as first from subscribers
         where user_id is not null group by user_id order by first`,
      )
      .toArray();
    const hash: Record<string, unknown> = {};
    for (const row of rows) hash[row.user_id] = row.user_info === null ? null : JSON.parse(row.user_info);
    return { ids: rows.map((row) => row.user_id), hash, count: rows.length };
  }

  /** Keeps a cache channel's last event for Pusher's 30 minutes. */
  cacheEvent(event: string, data: string, now: number): void {
    this.#sql.exec(
      'insert or replace into cached_event (id, event, data, expires_at) values (1, ?, ?, ?)',
      event,
      data,
      now + Limits.cacheTtlSeconds * 1000,
    );
  }

  /** The cached event if it has not expired. */
  cachedEvent(now: number): CachedEvent | null {
    const row = this.#sql
      .exec<{ event: string; data: string; expires_at: number }>('select event, data, expires_at from cached_event')
      .toArray()[0];
    return row && row.expires_at > now ? { event: row.event, data: row.data, expiresAt: row.expires_at } : null;
  }

  /** Records a signed-in socket of this channel's user; true when the user just came online. */
  signIn(socketId: string, shard: number): boolean {
    const cameOnline = !this.isOnline();
    this.#sql.exec('insert or replace into signed_in (socket_id, shard) values (?, ?)', socketId, shard);
    return cameOnline;
  }

  /** Forgets a signed-in socket; true when it was the user's last one (the user went offline). */
  signOut(socketId: string): boolean {
    const removed = this.#sql.exec('delete from signed_in where socket_id = ?', socketId).rowsWritten > 0;
    return removed && !this.isOnline();
  }

  isOnline(): boolean {
    return this.#sql.exec('select 1 from signed_in limit 1').toArray().length > 0;
  }

  /** The user's signed-in sockets, by shard. */
  signedInSockets(): Map<number, string[]> {
    return byShard(this.#sql.exec<{ socket_id: string; shard: number }>('select socket_id, shard from signed_in').toArray());
  }

  watch(socketId: string, shard: number): void {
    this.#sql.exec('insert or replace into watchers (socket_id, shard) values (?, ?)', socketId, shard);
  }

  unwatch(socketId: string): void {
    this.#sql.exec('delete from watchers where socket_id = ?', socketId);
  }

  /** The sockets watching this channel's user, by shard. */
  watchers(): Map<number, string[]> {
    return byShard(this.#sql.exec<{ socket_id: string; shard: number }>('select socket_id, shard from watchers').toArray());
  }
}

function byShard(rows: Array<{ socket_id: string; shard: number }>): Map<number, string[]> {
  const result = new Map<number, string[]>();
  for (const row of rows) {
    const list = result.get(row.shard);
    if (list) list.push(row.socket_id);
    else result.set(row.shard, [row.socket_id]);
  }
  return result;
}
