/**
 * What the protocol modules (subscriptions, client events, sign-in) need from the connection shard
 * they run in. The shard implements it over its sockets and stubs; a test can implement it over
 * plain arrays, so every protocol rule can be tested without sockets.
 */
import type { Logger } from '../log.ts';
import type { RealtimeApp } from './apps.ts';
import type { RealtimeChannel } from './channel.ts';
import type { Connection } from './connection.ts';
import type { LocalSubscriptions } from './subscriptions.ts';

/** The calls a shard makes to a channel object: the object's own methods, so the two cannot drift. */
export type ChannelCalls = Pick<
  RealtimeChannel,
  'join' | 'leave' | 'remember' | 'clientEvent' | 'signIn' | 'signOut' | 'watch' | 'unwatch'
>;

export interface ShardContext {
  readonly app: RealtimeApp;
  /** This shard's number within the app. */
  readonly shard: number;
  readonly log: Logger;
  /** This shard's sockets' channels. */
  readonly subscriptions: LocalSubscriptions;
  /** The object of one of the app's channels. */
  channel(name: string): ChannelCalls;
  /** Whether the connection is still open (it may close while a call is under way). */
  isOpen(connection: Connection): boolean;
  /** Sends a frame; a socket that is closing is skipped (its close handler cleans up). */
  send(connection: Connection, text: string): void;
  /** Saves the connection's state in its attachment. */
  persist(connection: Connection): void;
  /**
   * Tells a channel's object that a socket left it. If the object fails the call (reset,
   * overloaded, evicted mid-call), the leave is owed and the shard's alarm makes it again, so the
   * socket does not stay a subscriber (a presence member) for good.
   */
  leave(channel: string, socketId: string): Promise<void>;
  /** Closes a connection with a Pusher close code and forgets it, leaving its channels. */
  close(connection: Connection, code: number, reason: string): Promise<void>;
}
