/**
 * User sign-in (`pusher:signin`) and watchlists. A signed-in socket is recorded with the user's
 * `#server-to-user-{id}` channel object, wherever the socket's shard is, so `sendToUser`,
 * `terminate_connections` and watchers' online/offline events reach every shard. A user is online
 * while one of its sockets is signed in: watchers hear `online` on its first and `offline` after
 * its last, never once per tab.
 */
import { Limits, serverToUserChannel } from '../broadcast/pusher-rules.ts';
import type { Connection } from './connection.ts';
import { type ClientMessage, CloseCode, dataObject, frame, type WatchlistEvent } from './frames.ts';
import type { ShardContext } from './shard-context.ts';
import { constantTimeEqual, userAuth } from './signatures.ts';

/** A watchlist from signin user_data: up to 100 user ids, or an error sentence. */
export function parseWatchlist(value: unknown): string[] | string {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((id) => typeof id !== 'string' || id.length === 0 || id.length > Limits.userIdLength)) {
    return 'Invalid watchlist: expected an array of user id strings';
  }
  if (value.length > Limits.watchlistSize) return `Watchlist over limit: ${value.length} user ids (at most ${Limits.watchlistSize})`;
  return [...new Set(value as string[])];
}

/** The string id of signin user_data, or null. */
export function userIdOf(userData: string): string | null {
  const id = dataObject(userData)?.id;
  return typeof id === 'string' && id.length > 0 && id.length <= Limits.userIdLength ? id : null;
}

/** The user's own channel object, which keeps its signed-in sockets and watchers. */
function userTarget(ctx: ShardContext, userId: string) {
  const channel = serverToUserChannel(userId);
  return { calls: ctx.channel(channel), target: { appId: ctx.app.id, channel } };
}

/** `pusher:signin`: a bad signature closes the connection (4009); a bad watchlist is reported, not fatal. */
export async function signin(ctx: ShardContext, connection: Connection, message: ClientMessage, signIns: SignIns): Promise<void> {
  const { state } = connection;
  const { app } = ctx;
  if (!app.userAuthentication) {
    ctx.send(connection, frame.error('User authentication is not enabled for this app (set REALTIME_USER_AUTHENTICATION=true)'));
    return;
  }
  const data = dataObject(message.data);
  const userData = data?.user_data;
  const auth = data?.auth;
  if (
    typeof userData !== 'string' ||
    typeof auth !== 'string' ||
    !constantTimeEqual(auth, userAuth(app.key, app.secret, state.socketId, userData))
  ) {
    ctx.log.info('signin refused: invalid auth', { socket_id: state.socketId });
    await ctx.close(connection, CloseCode.unauthorized, 'Invalid signin: sign socket_id::user::user_data with the app secret');
    return;
  }
  const userId = userIdOf(userData);
  if (userId === null) {
    await ctx.close(connection, CloseCode.unauthorized, 'Invalid signin: user_data must be a JSON object with a string id');
    return;
  }
  let watchlist = parseWatchlist(dataObject(userData)?.watchlist);
  if (typeof watchlist === 'string') {
    // Pusher signs the user in anyway and reports the watchlist problem.
    ctx.send(connection, frame.error(watchlist, watchlist.startsWith('Watchlist over limit') ? CloseCode.watchlistOverLimit : null));
    watchlist = [];
  }
  if (state.userId !== null) await signOut(ctx, state.socketId, signIns);
  state.userId = userId;
  ctx.persist(connection);
  signIns.record(state.socketId, userId, watchlist);
  const own = userTarget(ctx, userId);
  await own.calls.signIn(own.target, state.socketId, ctx.shard);
  const online = await Promise.all(
    watchlist.map((watched) => {
      const other = userTarget(ctx, watched);
      return other.calls.watch(other.target, state.socketId, ctx.shard);
    }),
  );
  ctx.send(connection, frame.signinSuccess(userData));
  const initial: WatchlistEvent[] = [];
  const onlineIds = watchlist.filter((_, index) => online[index]);
  const offlineIds = watchlist.filter((_, index) => !online[index]);
  if (onlineIds.length > 0) initial.push({ name: 'online', user_ids: onlineIds });
  if (offlineIds.length > 0) initial.push({ name: 'offline', user_ids: offlineIds });
  if (initial.length > 0) ctx.send(connection, frame.watchlistEvents(initial));
  ctx.log.info('signed in', { socket_id: state.socketId, user_id: userId, watchlist: watchlist.length });
}

/**
 * Forgets a socket's sign-in and watchlist everywhere (on close, or before it signs in again). If a
 * user's object fails the call, the sign-in stays recorded here, so it can be undone again (the
 * calls may be repeated), and the error is thrown.
 */
export async function signOut(ctx: ShardContext, socketId: string, signIns: SignIns): Promise<void> {
  const { userId, watched } = signIns.take(socketId);
  const calls: Array<Promise<void>> = watched.map((id) => {
    const other = userTarget(ctx, id);
    return other.calls.unwatch(other.target, socketId);
  });
  if (userId !== null) {
    const own = userTarget(ctx, userId);
    calls.push(own.calls.signOut(own.target, socketId));
  }
  const failed = (await Promise.allSettled(calls)).find((outcome) => outcome.status === 'rejected');
  if (!failed) return;
  if (userId !== null) signIns.record(socketId, userId, watched);
  throw failed.reason;
}

/**
 * The shard's signed-in sockets: the user of each and whom it watches, in SQLite, so a socket that
 * vanished while the shard was away (evicted, restarted) can still be signed out everywhere.
 */
export class SignIns {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec('create table if not exists signed_in_here (socket_id text primary key, user_id text not null)');
    sql.exec('create table if not exists watching (socket_id text not null, user_id text not null, primary key (socket_id, user_id))');
  }

  record(socketId: string, userId: string, watchlist: string[]): void {
    this.#sql.exec('insert or replace into signed_in_here (socket_id, user_id) values (?, ?)', socketId, userId);
    this.#sql.exec('delete from watching where socket_id = ?', socketId);
    for (const watched of watchlist) this.#sql.exec('insert or ignore into watching (socket_id, user_id) values (?, ?)', socketId, watched);
  }

  /** A socket's user and the users it watched, forgetting them. */
  take(socketId: string): { userId: string | null; watched: string[] } {
    const user = this.#sql.exec<{ user_id: string }>('select user_id from signed_in_here where socket_id = ?', socketId).toArray()[0];
    const watched = this.#sql.exec<{ user_id: string }>('select user_id from watching where socket_id = ?', socketId).toArray();
    this.#sql.exec('delete from signed_in_here where socket_id = ?', socketId);
    this.#sql.exec('delete from watching where socket_id = ?', socketId);
    return { userId: user?.user_id ?? null, watched: watched.map((row) => row.user_id) };
  }

  socketIds(): string[] {
    return this.#sql
      .exec<{ socket_id: string }>('select socket_id from signed_in_here union select socket_id from watching')
      .toArray()
      .map((row) => row.socket_id);
  }
}
