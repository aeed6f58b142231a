/**
 * What one channel object keeps in its SQLite storage: the channel's subscribers (socket id, the
 * shard that holds the socket, the presence member), its cached event, and, for a user's
 * `#server-to-user-{id}` channel, the user's signed-in sockets and who watches the user. It knows
 * socket ids and shard numbers, never sockets: those live in the connection shards.
 *
 * Its tables exist only while the object keeps something: an object that was only asked questions
 * stores nothing, and one whose storage was deleted (see channel.ts) answers from nothing until a
 * write creates them again.
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
  /** Whether the tables exist; reading never creates them. */
  #created: boolean;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#created = sql.exec("select 1 from sqlite_master where type = 'table' and name = 'target'").toArray().length > 0;
    for (const row of this.#read<{ shard: number; n: number }>('select shard, count(*) as n from subscribers group by shard')) {
      this.#perShard.set(row.shard, row.n);
    }
  }

  /** Whether anything is stored (the tables exist). */
  get stored(): boolean {
    return this.#created;
  }

  /** Creates the tables, recording which app and channel the object serves (its alarm needs them): before any write. */
  create(target: ChannelTarget): void {
    if (this.#created) return;
    const sql = this.#sql;
    sql.exec(`create table if not exists subscribers (
      socket_id text primary key, shard integer not null, user_id text, user_info text)`);
    sql.exec('create index if not exists subscribers_by_user on subscribers (user_id)');
    sql.exec(
      'create table if not exists cached_event (id integer primary key check (id = 1), event text not null, data text not null, expires_at integer not null)',
    );
    sql.exec('create table if not exists signed_in (socket_id text primary key, shard integer not null)');
    sql.exec('create table if not exists watchers (socket_id text primary key, shard integer not null)');
    sql.exec('create table if not exists target (id integer primary key check (id = 1), app_id text not null, channel text not null)');
    sql.exec('insert or ignore into target (id, app_id, channel) values (1, ?, ?)', target.appId, target.channel);
    this.#created = true;
  }

  /** The storage was deleted: nothing is stored until {@link create} runs again. */
  forget(): void {
    this.#created = false;
    this.#perShard.clear();
  }

  /** Rows of a query, or none while nothing is stored. */
  #read<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: SqlStorageValue[]): T[] {
    return this.#created ? this.#sql.exec<T>(query, ...bindings).toArray() : [];
  }

  #write(query: string, ...bindings: SqlStorageValue[]): number {
    if (!this.#created) throw new Error('Channel state written before create(target): the channel object must create its tables first');
    return this.#sql.exec(query, ...bindings).rowsWritten;
  }

  #count(shard: number, change: 1 | -1): void {
    const count = (this.#perShard.get(shard) ?? 0) + change;
    if (count > 0) this.#perShard.set(shard, count);
    else this.#perShard.delete(shard);
  }

  /** The app and channel this object serves, once something was stored. */
  target(): ChannelTarget | null {
    const row = this.#read<{ app_id: string; channel: string }>('select app_id, channel from target')[0];
    return row ? { appId: row.app_id, channel: row.channel } : null;
  }

  isSubscribed(socketId: string): boolean {
    return this.#read('select 1 from subscribers where socket_id = ?', socketId).length > 0;
  }

  /**
   * Whether nobody is here: no subscriber, no signed-in socket, no watcher. An idle object keeps at
   * most pending webhooks and a cached event.
   */
  idle(): boolean {
    return !this.occupied() && !this.isOnline() && this.#read('select 1 from watchers limit 1').length === 0;
  }

  /** Records a subscription; tells whether it is the channel's first socket and the user's first socket in it. */
  subscribe(subscriber: Subscriber): { firstInChannel: boolean; firstForUser: boolean } {
    const { socketId, shard, member } = subscriber;
    const firstInChannel = !this.occupied();
    const firstForUser = member !== null && !this.hasUser(member.userId);
    const previous = this.#read<{ shard: number }>('select shard from subscribers where socket_id = ?', socketId)[0];
    this.#write(
      'insert or replace into subscribers (socket_id, shard, user_id, user_info) values (?, ?, ?, ?)',
      socketId,
      shard,
      member?.userId ?? null,
      member?.userInfo ?? null,
    );
    if (previous) this.#count(previous.shard, -1);
    this.#count(shard, 1);
    return { firstInChannel, firstForUser };
  }

  /** Removes a subscription; tells whether the channel is now empty and which user, if any, left with it. */
  unsubscribe(socketId: string): { left: boolean; lastInChannel: boolean; userGone: string | null } {
    const row = this.#read<{ user_id: string | null; shard: number }>(
      'select user_id, shard from subscribers where socket_id = ?',
      socketId,
    )[0];
    if (!row) return { left: false, lastInChannel: false, userGone: null };
    this.#write('delete from subscribers where socket_id = ?', socketId);
    this.#count(row.shard, -1);
    return {
      left: true,
      lastInChannel: !this.occupied(),
      userGone: row.user_id !== null && !this.hasUser(row.user_id) ? row.user_id : null,
    };
  }

  /** The presence user a socket joined as, or null. */
  memberOf(socketId: string): string | null {
    return this.#read<{ user_id: string | null }>('select user_id from subscribers where socket_id = ?', socketId)[0]?.user_id ?? null;
  }

  /** The shards that hold at least one subscriber (from memory). */
  shards(): number[] {
    return [...this.#perShard.keys()];
  }

  occupied(): boolean {
    return this.#perShard.size > 0;
  }

  subscriptionCount(): number {
    return this.#read<{ n: number }>('select count(*) as n from subscribers')[0]?.n ?? 0;
  }

  /** Distinct users in a presence channel (a user with several sockets counts once). */
  userCount(): number {
    return this.#read<{ n: number }>('select count(distinct user_id) as n from subscribers where user_id is not null')[0]?.n ?? 0;
  }

  hasUser(userId: string): boolean {
    return this.#read('select 1 from subscribers where user_id = ? limit 1', userId).length > 0;
  }

  /** The members of a presence channel, each user once (with the info of its first socket). */
  members(): PresenceData {
    // SQLite takes bare columns from the row that min() picked: the user's first socket.
    const rows = this.#read<{ user_id: string; user_info: string | null; first: number }>(
      `select user_id, user_info, min(rowid) as first from subscribers
       where user_id is not null group by user_id order by first`,
    );
    const hash: Record<string, unknown> = {};
    for (const row of rows) hash[row.user_id] = row.user_info === null ? null : JSON.parse(row.user_info);
    return { ids: rows.map((row) => row.user_id), hash, count: rows.length };
  }

  /** Keeps a cache channel's last event for Pusher's 30 minutes. */
  cacheEvent(event: string, data: string, now: number): void {
    this.#write(
      'insert or replace into cached_event (id, event, data, expires_at) values (1, ?, ?, ?)',
      event,
      data,
      now + Limits.cacheTtlSeconds * 1000,
    );
  }

  /** The cached event if it has not expired. */
  cachedEvent(now: number): CachedEvent | null {
    const row = this.#read<{ event: string; data: string; expires_at: number }>('select event, data, expires_at from cached_event')[0];
    return row && row.expires_at > now ? { event: row.event, data: row.data, expiresAt: row.expires_at } : null;
  }

  /** Records a signed-in socket of this channel's user; true when the user just came online. */
  signIn(socketId: string, shard: number): boolean {
    const cameOnline = !this.isOnline();
    this.#write('insert or replace into signed_in (socket_id, shard) values (?, ?)', socketId, shard);
    return cameOnline;
  }

  /** Forgets a signed-in socket; true when it was the user's last one (the user went offline). */
  signOut(socketId: string): boolean {
    if (!this.#created) return false;
    const removed = this.#write('delete from signed_in where socket_id = ?', socketId) > 0;
    return removed && !this.isOnline();
  }

  isOnline(): boolean {
    return this.#read('select 1 from signed_in limit 1').length > 0;
  }

  /** The user's signed-in sockets, by shard. */
  signedInSockets(): Map<number, string[]> {
    return byShard(this.#read<{ socket_id: string; shard: number }>('select socket_id, shard from signed_in'));
  }

  watch(socketId: string, shard: number): void {
    this.#write('insert or replace into watchers (socket_id, shard) values (?, ?)', socketId, shard);
  }

  unwatch(socketId: string): void {
    if (this.#created) this.#write('delete from watchers where socket_id = ?', socketId);
  }

  /** The sockets watching this channel's user, by shard. */
  watchers(): Map<number, string[]> {
    return byShard(this.#read<{ socket_id: string; shard: number }>('select socket_id, shard from watchers'));
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
