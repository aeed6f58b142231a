/**
 * What the protocol modules (subscriptions, client events, sign-in) need from the connection shard
 * they run in. The shard implements it over its sockets and stubs; a test can implement it over
 * plain arrays, so every protocol rule can be tested without sockets.
 */
import type { Logger } from '../log.ts';
import type { RealtimeApp } from './apps.ts';
import type { ChannelCounts, ChannelEvent, ChannelInfo, ClientEvent, JoinResult } from './channel.ts';
import type { ChannelTarget, Subscriber } from './channel-state.ts';
import type { Connection } from './connection.ts';
import type { LocalSubscriptions } from './subscriptions.ts';

/** The calls a shard makes to a channel object (see channel.ts). */
export interface ChannelCalls {
  join(target: ChannelTarget, subscriber: Subscriber): Promise<JoinResult>;
  leave(target: ChannelTarget, socketId: string): Promise<void>;
  publish(target: ChannelTarget, event: ChannelEvent, info?: readonly string[]): Promise<ChannelCounts>;
  remember(target: ChannelTarget, event: ChannelEvent | null, info?: readonly string[]): Promise<ChannelCounts>;
  /** False when the sender's user is over the per-user client event limit on this channel. */
  clientEvent(target: ChannelTarget, event: ClientEvent): Promise<boolean>;
  info(target: ChannelTarget, attributes: readonly string[]): Promise<ChannelInfo>;
  signIn(target: ChannelTarget, socketId: string, shard: number): Promise<void>;
  signOut(target: ChannelTarget, socketId: string): Promise<void>;
  watch(target: ChannelTarget, socketId: string, shard: number): Promise<boolean>;
  unwatch(target: ChannelTarget, socketId: string): Promise<void>;
}

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
  /** Closes a connection with a Pusher close code and forgets it, leaving its channels. */
  close(connection: Connection, code: number, reason: string): Promise<void>;
}
