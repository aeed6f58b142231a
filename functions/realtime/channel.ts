/**
 * One channel of one app, as a Durable Object: who subscribes from which shard, its presence
 * members (counted per user across shards), its cached event, its subscription count and its
 * webhooks, each sent exactly once app-wide because only this object decides them. A publish is
 * one call here, which fans out in parallel to only the shards that hold subscribers.
 *
 * A user's `#server-to-user-{id}` channel object also keeps the user's signed-in sockets and
 * watchers, so sign-in, `sendToUser`, watchlists and `terminate_connections` work across shards.
 */
import { DurableObject } from 'cloudflare:workers';
import { channelKind, Limits, serverToUserId } from '../broadcast/pusher-rules.ts';
import { createLogger, type Logger } from '../log.ts';
import { type WebhookEvent, WebhookQueue } from './app-webhooks.ts';
import { loadApps, type RealtimeApp } from './apps.ts';
import { ChannelState, type ChannelTarget, type Subscriber } from './channel-state.ts';
import { frame, type PresenceData } from './frames.ts';
import { type ShardStub, shardObject } from './placement.ts';
import { type RateWindow, takeInSecond } from './rate-limits.ts';

/** What `GET /channels/{name}` reports. */
export interface ChannelInfo {
  occupied: boolean;
  user_count?: number;
  subscription_count?: number;
  cache?: { event: string; data: string; ttl: number };
}

/** Counts a publish reports when asked for `info`. */
export interface ChannelCounts {
  user_count?: number;
  subscription_count?: number;
}

/** What a shard needs to finish a subscription. */
export type JoinResult =
  | { joined: true; presence?: PresenceData; cached?: { event: string; data: string } | null }
  | { joined: false; status: number; error: string };

/** A client event as a shard hands it over: its data as JSON text, and as the webhook reports it. */
export interface ClientEvent {
  socketId: string;
  name: string;
  dataJson: string;
  rawData: string;
}

/** An event to publish on this channel. */
export interface ChannelEvent {
  name: string;
  data: string;
  /** A socket that must not receive it (the publisher's own). */
  socketId?: string;
}

export class RealtimeChannel extends DurableObject<Env> {
  readonly #state: ChannelState;
  readonly #webhooks: WebhookQueue;
  readonly #log: Logger;
  /** One stub per shard, kept so that calls to a shard arrive in the order they were made. */
  readonly #shards = new Map<number, ShardStub>();
  #alarmAt: number | null | undefined;
  /** The app and channel this object serves, once known (kept in SQLite too, for its alarm). */
  #target: ChannelTarget | null = null;
  /** Client events per presence user in the current second (memory: a limit, not state to keep). */
  readonly #userClientEvents = new Map<string, RateWindow>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#log = createLogger(env.LOG_LEVEL, { component: 'realtime-channel' });
    this.#state = new ChannelState(ctx.storage.sql);
    this.#webhooks = new WebhookQueue(ctx.storage.sql);
  }

  /** Records a socket's subscription and tells the others; refuses a full presence channel. */
  async join(target: ChannelTarget, subscriber: Subscriber): Promise<JoinResult> {
    const app = this.#app(target);
    const { channel } = target;
    const kind = channelKind(channel);
    const { member } = subscriber;
    if (member && !this.#state.hasUser(member.userId) && !this.#state.isSubscribed(subscriber.socketId)) {
      if (this.#state.userCount() >= app.maxPresenceMembers) {
        return { joined: false, status: 403, error: `Presence channel '${channel}' is full (at most ${app.maxPresenceMembers} members)` };
      }
    }
    const { firstInChannel, firstForUser } = this.#state.subscribe(subscriber);
    // Occupied comes first: before anyone is a member of the channel or misses its cache.
    if (firstInChannel) this.#webhookOnJoin(app, { name: 'channel_occupied', channel });
    const result: JoinResult = { joined: true };
    if (kind.presence) result.presence = this.#state.members();
    const now = Date.now();
    if (kind.cache) {
      const cached = this.#state.cachedEvent(now);
      result.cached = cached ? { event: cached.event, data: cached.data } : null;
      if (!cached) this.#queueWebhook(app, { name: 'cache_miss', channel }, 0);
    }
    const sends: Array<Promise<void>> = [];
    if (member && firstForUser) {
      const userInfo = member.userInfo === null ? null : JSON.parse(member.userInfo);
      sends.push(this.#fanOut(channel, frame.memberAdded(channel, member.userId, userInfo), subscriber.socketId));
      this.#webhookOnJoin(app, { name: 'member_added', channel, user_id: member.userId });
    }
    sends.push(this.#announceSubscriptionCount(app, channel));
    await Promise.all(sends);
    await this.#scheduleAlarm();
    return result;
  }

  /** Removes a socket's subscription (unsubscribe, close, or its shard found it gone). */
  async leave(target: ChannelTarget, socketId: string): Promise<void> {
    const app = this.#app(target);
    const { channel } = target;
    const result = this.#state.unsubscribe(socketId);
    if (!result.left) return;
    const leaveDelayMs = app.webhookLeaveDelay * 1000;
    const sends: Array<Promise<void>> = [];
    if (result.userGone !== null) {
      sends.push(this.#fanOut(channel, frame.memberRemoved(channel, result.userGone)));
      this.#queueWebhook(app, { name: 'member_removed', channel, user_id: result.userGone }, leaveDelayMs);
    }
    if (result.lastInChannel) this.#queueWebhook(app, { name: 'channel_vacated', channel }, leaveDelayMs);
    sends.push(this.#announceSubscriptionCount(app, channel));
    await Promise.all(sends);
    await this.#scheduleAlarm();
  }

  /** Publishes an event to every subscriber (but `socketId`), on every shard that has one. */
  async publish(target: ChannelTarget, event: ChannelEvent, info: readonly string[] = []): Promise<ChannelCounts> {
    this.#app(target);
    const { channel } = target;
    if (channelKind(channel).cache) this.#state.cacheEvent(event.name, event.data, Date.now());
    await this.#fanOut(channel, frame.event(channel, event.name, event.data), event.socketId);
    return this.#counts(channel, info);
  }

  /**
   * Keeps a cache channel's event that a single shard published itself (the one-shard fast path,
   * which skips this object for the fan-out), and reports counts when asked.
   */
  async remember(target: ChannelTarget, event: ChannelEvent | null, info: readonly string[] = []): Promise<ChannelCounts> {
    this.#app(target);
    if (event && channelKind(target.channel).cache) this.#state.cacheEvent(event.name, event.data, Date.now());
    return this.#counts(target.channel, info);
  }

  /**
   * A client event from a subscribed socket: to every other subscriber, and to the webhook. On a
   * presence channel the user's sockets together may send 10 per second; false when over it.
   */
  async clientEvent(target: ChannelTarget, event: ClientEvent): Promise<boolean> {
    const app = this.#app(target);
    const { channel } = target;
    const userId = this.#state.memberOf(event.socketId);
    if (userId !== null) {
      const window = this.#userClientEvents.get(userId) ?? { second: 0, count: 0 };
      this.#userClientEvents.set(userId, window);
      if (takeInSecond(window, Date.now(), Limits.clientEventsPerSecond) !== 'allow') return false;
    }
    await this.#fanOut(channel, frame.eventWithJsonData(channel, event.name, event.dataJson, userId), event.socketId);
    this.#queueWebhook(
      app,
      {
        name: 'client_event',
        channel,
        event: event.name,
        data: event.rawData,
        socket_id: event.socketId,
        ...(userId !== null ? { user_id: userId } : {}),
      },
      0,
    );
    await this.#scheduleAlarm();
    return true;
  }

  /** One channel's state for `GET /channels/{name}`. */
  async info(target: ChannelTarget, attributes: readonly string[]): Promise<ChannelInfo> {
    this.#app(target);
    const subscriptions = this.#state.subscriptionCount();
    const info: ChannelInfo = { occupied: subscriptions > 0 };
    if (attributes.includes('user_count')) info.user_count = this.#state.userCount();
    if (attributes.includes('subscription_count')) info.subscription_count = subscriptions;
    if (attributes.includes('cache')) {
      const now = Date.now();
      const cached = this.#state.cachedEvent(now);
      if (cached) info.cache = { event: cached.event, data: cached.data, ttl: Math.ceil((cached.expiresAt - now) / 1000) };
    }
    return info;
  }

  /** The users of a presence channel, each once. */
  async users(target: ChannelTarget): Promise<Array<{ id: string }>> {
    this.#app(target);
    return this.#state.members().ids.map((id) => ({ id }));
  }

  /** A socket signed in as this channel's user; watchers hear `online` on the user's first socket. */
  async signIn(target: ChannelTarget, socketId: string, shard: number): Promise<void> {
    this.#app(target);
    if (this.#state.signIn(socketId, shard)) await this.#tellWatchers(target, 'online');
  }

  /** A signed-in socket closed; watchers hear `offline` after the user's last one. */
  async signOut(target: ChannelTarget, socketId: string): Promise<void> {
    this.#app(target);
    if (this.#state.signOut(socketId)) await this.#tellWatchers(target, 'offline');
  }

  /** A socket watches this channel's user; answers whether the user is online now. */
  async watch(target: ChannelTarget, socketId: string, shard: number): Promise<boolean> {
    this.#app(target);
    this.#state.watch(socketId, shard);
    return this.#state.isOnline();
  }

  async unwatch(target: ChannelTarget, socketId: string): Promise<void> {
    this.#app(target);
    this.#state.unwatch(socketId);
  }

  /** Closes every signed-in socket of this channel's user (4009), on every shard; returns how many. */
  async terminate(target: ChannelTarget): Promise<number> {
    this.#app(target);
    const counts = await Promise.all(
      [...this.#state.signedInSockets()].map(([shard, socketIds]) => this.#shard(target.appId, shard).terminate(socketIds)),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  }

  /** Sends due webhooks, then sets the next alarm. */
  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const target = this.#state.target();
    const app = target ? loadApps(this.env).byId(target.appId) : undefined;
    if (app) await this.#webhooks.deliverDue(app, Date.now(), this.#log);
    await this.#scheduleAlarm(true);
  }

  #app(target: ChannelTarget): RealtimeApp {
    // Written once: a write on every call would hold each answer until its commit.
    if (!this.#target) {
      const known = this.#state.target();
      if (!known) this.#state.rememberTarget(target);
      this.#target = known ?? target;
    }
    const app = loadApps(this.env).byId(target.appId);
    if (!app) throw new Error(`Unknown realtime app '${target.appId}': was it removed from PUSHER_APP_ID or REALTIME_APPS?`);
    return app;
  }

  #shard(appId: string, index: number): ShardStub {
    let stub = this.#shards.get(index);
    if (!stub) {
      stub = shardObject(this.env, appId, index);
      this.#shards.set(index, stub);
    }
    return stub;
  }

  /** Sends a frame to every subscriber but one, through each shard holding any, in parallel. */
  async #fanOut(channel: string, text: string, exceptSocketId?: string): Promise<void> {
    const appId = this.#target!.appId;
    const shards = this.#state.shards();
    await Promise.all(shards.map((index) => this.#shard(appId, index).deliver(channel, text, exceptSocketId)));
  }

  async #tellWatchers(target: ChannelTarget, name: 'online' | 'offline'): Promise<void> {
    const userId = serverToUserId(target.channel);
    const text = frame.watchlistEvents([{ name, user_ids: [userId] }]);
    await Promise.all([...this.#state.watchers()].map(([shard, socketIds]) => this.#shard(target.appId, shard).sendTo(socketIds, text)));
  }

  #counts(channel: string, info: readonly string[]): ChannelCounts {
    const counts: ChannelCounts = {};
    if (info.includes('user_count') && channelKind(channel).presence) counts.user_count = this.#state.userCount();
    if (info.includes('subscription_count')) counts.subscription_count = this.#state.subscriptionCount();
    return counts;
  }

  /**
   * With subscription counting on, every join and leave tells the channel's sockets the new count
   * (pusher-js exposes it as `channel.subscriptionCount`) and queues a `subscription_count` webhook.
   * Presence channels have member events instead; server-to-user channels are private to a user.
   */
  async #announceSubscriptionCount(app: RealtimeApp, channel: string): Promise<void> {
    const kind = channelKind(channel);
    if (!app.subscriptionCount || kind.presence || kind.serverToUser) return;
    const count = this.#state.subscriptionCount();
    this.#queueWebhook(app, { name: 'subscription_count', channel, subscription_count: count }, 0);
    await this.#fanOut(channel, frame.subscriptionCount(channel, count));
  }

  /** A join event cancels a pending leave of the same channel/user instead of flapping; else it goes out now. */
  #webhookOnJoin(app: RealtimeApp, event: WebhookEvent & { name: 'channel_occupied' | 'member_added' }): void {
    if (app.webhookUrl === null) return;
    const cancelled =
      event.name === 'channel_occupied'
        ? this.#webhooks.cancel('channel_vacated', event.channel, null)
        : this.#webhooks.cancel('member_removed', event.channel, event.user_id);
    if (!cancelled) this.#webhooks.enqueue(event, Date.now());
  }

  #queueWebhook(app: RealtimeApp, event: WebhookEvent, delayMs: number): void {
    if (app.webhookUrl === null) return;
    this.#webhooks.enqueue(event, Date.now() + delayMs);
  }

  async #scheduleAlarm(replace = false): Promise<void> {
    const next = this.#webhooks.nextDueAt();
    if (next === null) return;
    if (!replace && this.#alarmAt === undefined) this.#alarmAt = await this.ctx.storage.getAlarm();
    const current = replace ? null : this.#alarmAt;
    if (current === null || current === undefined || next < current) {
      this.#alarmAt = next;
      await this.ctx.storage.setAlarm(next);
    }
  }
}
