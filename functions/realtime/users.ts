import { Limits } from './protocol.ts';

/** A watchlist change to send to the sockets watching a user. */
export interface WatchlistEvent {
  name: 'online' | 'offline';
  user_ids: string[];
}

/**
 * Signed-in users and their watchlists (`pusher:signin` user_data `watchlist`), in the object's
 * SQLite storage. Like ChannelStore it knows socket ids, never sockets. A user is online while at
 * least one of its sockets is signed in; watchers hear `online` on its first socket and `offline`
 * after its last, never once per tab.
 */
export class UserStore {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    sql.exec('create table if not exists signed_in_sockets (socket_id text primary key, user_id text not null)');
    sql.exec('create index if not exists signed_in_sockets_by_user on signed_in_sockets (user_id)');
    sql.exec('create table if not exists watchers (socket_id text not null, watched_user_id text not null, primary key (watched_user_id, socket_id))');
    sql.exec('create index if not exists watchers_by_socket on watchers (socket_id)');
  }

  /** Whether a user has a signed-in socket. */
  isOnline(userId: string): boolean {
    return this.sql.exec('select 1 from signed_in_sockets where user_id = ? limit 1', userId).toArray().length > 0;
  }

  /**
   * Records a signed-in socket and its watchlist; tells whether the user just came online and the
   * initial state of the watchlist (who of it is online and who is not).
   */
  signIn(socketId: string, userId: string, watchlist: string[]): { cameOnline: boolean; initial: WatchlistEvent[] } {
    this.signOut(socketId);
    const cameOnline = !this.isOnline(userId);
    this.sql.exec('insert into signed_in_sockets (socket_id, user_id) values (?, ?)', socketId, userId);
    for (const watched of new Set(watchlist)) {
      this.sql.exec('insert or ignore into watchers (socket_id, watched_user_id) values (?, ?)', socketId, watched);
    }
    const online = [...new Set(watchlist)].filter((id) => this.isOnline(id));
    const offline = [...new Set(watchlist)].filter((id) => !online.includes(id));
    const initial: WatchlistEvent[] = [];
    if (online.length > 0) initial.push({ name: 'online', user_ids: online });
    if (offline.length > 0) initial.push({ name: 'offline', user_ids: offline });
    return { cameOnline, initial };
  }

  /** Forgets a socket's sign-in and watchlist; returns the user id if that user just went offline. */
  signOut(socketId: string): string | null {
    const row = this.sql.exec<{ user_id: string }>('select user_id from signed_in_sockets where socket_id = ?', socketId).toArray()[0];
    this.sql.exec('delete from watchers where socket_id = ?', socketId);
    if (!row) return null;
    this.sql.exec('delete from signed_in_sockets where socket_id = ?', socketId);
    return this.isOnline(row.user_id) ? null : row.user_id;
  }

  /** Sockets whose watchlist contains a user (excluding that user's own sockets). */
  watchersOf(userId: string): string[] {
    return this.sql
      .exec<{ socket_id: string }>('select socket_id from watchers where watched_user_id = ?', userId)
      .toArray()
      .map((row) => row.socket_id);
  }

  /** Every socket id with a sign-in or a watchlist. */
  allSocketIds(): string[] {
    return this.sql
      .exec<{ socket_id: string }>('select socket_id from signed_in_sockets union select socket_id from watchers')
      .toArray()
      .map((row) => row.socket_id);
  }
}

/** A watchlist from signin user_data: up to 100 user ids, or an error sentence. */
export function parseWatchlist(value: unknown): string[] | string {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((id) => typeof id !== 'string' || id.length === 0 || id.length > Limits.userIdLength)) {
    return 'Invalid watchlist: expected an array of user id strings';
  }
  if (value.length > Limits.watchlistSize) return `Watchlist over limit: ${value.length} user ids (at most ${Limits.watchlistSize})`;
  return value as string[];
}
