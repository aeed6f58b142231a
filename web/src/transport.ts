// What the page needs from a realtime client, whichever protocol carries it: pusher-js (the
// realtime server, Pusher Channels or any Pusher-compatible host) or ably-js (Ably). realtime.ts
// holds everything else (connection status, catch-up, event checks), once for both.
import type { OnlineMember } from './realtime.ts';

/** A transport's connection, in the terms the page's status needs. */
export type TransportState = 'connecting' | 'connected' | 'retrying' | 'closed';

/** A channel to subscribe to, by its Pusher-style name (`private-user.{id}`). */
export interface ChannelSubscription {
  channel: string;
  /** Handlers by event name; other events are ignored. */
  events: Record<string, (data: unknown) => void>;
  /** The channel is live on a (new) connection: called again after every resubscription. */
  subscribed(): void;
  /** The server refused the channel, with the reason to show. */
  refused(reason: string): void;
  /**
   * The channel could not be taken right now (a 5xx or 429, or no answer, from the server or the
   * channel auth endpoint): the transport subscribes again by itself after `delayMs`, and calls
   * `refused` only once it gives up.
   */
  retrying?(reason: string, delayMs: number): void;
}

/** A presence channel to join. */
export interface PresenceSubscription {
  channel: string;
  /** Everyone in the channel now, one entry per user. */
  members(members: OnlineMember[]): void;
  refused(reason: string): void;
  /** As ChannelSubscription.retrying. */
  retrying?(reason: string, delayMs: number): void;
}

/** What a transport is opened with: the whole subscription set is known up front. */
export interface TransportOptions {
  /** Headers that authorize a request to /broadcasting/* (the user's session). */
  auth(): Record<string, string>;
  state(state: TransportState): void;
  channels: ChannelSubscription[];
  presence: PresenceSubscription[];
}

/** An open transport; `close()` ends it (sign-out). */
export interface Transport {
  close(): void;
}
