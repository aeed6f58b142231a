/**
 * One channel of one app, as a Durable Object: who subscribes from which shard, its presence
 * members (counted per user across shards), its cached event, its subscription count and its
 * webhooks, each sent exactly once app-wide because only this object decides them. A publish is
 * one call here, which fans out in parallel to only the shards that hold subscribers.
 *
 * A user's `#server-to-user-{id}` channel object also keeps the user's signed-in sockets and
 * watchers, so sign-in, `sendToUser`, watchlists and `terminate_connections` work across shards.
 *
 * Anyone may subscribe to any channel name, so no object may keep storage it does not need: once
 * nobody is in the channel, its webhooks are sent and its cached event has expired, the object's
 * alarm deletes all of its storage (see {@link RealtimeChannel.alarm}). A later call starts again
 * from nothing, in the same instance or a new one.
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
  /** The webhook outbox; null while the object stores nothing (its tables come with the state's). */
  #webhooks: WebhookQueue | null = null;
  readonly #log: Logger;
  /** One stub per shard, kept so that calls to a shard arrive in the order they were made. */
  readonly #shards = new Map<number, ShardStub>();
  /** The alarm as last set or read (null: none); undefined until known. */
  #alarmAt: number | null | undefined;
  /** Client events per presence user in the current second (memory: a limit, not state to keep). */
  readonly #userClientEvents = new Map<string, RateWindow>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#log = createLogger(env.LOG_LEVEL, { component: 'realtime-channel' });
    this.#state = new ChannelState(ctx.storage.sql);
    if (this.#state.stored) this.#webhooks = new WebhookQueue(ctx.storage.sql);
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
    this.#keep(target);
    const { firstInChannel, firstForUser } = this.#state.subscribe(subscriber);
    // Occupied comes first: before anyone is a member of the channel or misses its cache.
    if (firstInChannel) this.#webhookOnJoin(target, app, { name: 'channel_occupied', channel });
    const result: JoinResult = { joined: true };
    if (kind.presence) result.presence = this.#state.members();
    const now = Date.now();
    if (kind.cache) {
      const cached = this.#state.cachedEvent(now);
      result.cached = cached ? { event: cached.event, data: cached.data } : null;
      if (!cached) this.#queueWebhook(target, app, { name: 'cache_miss', channel }, 0);
    }
    const sends: Array<Promise<void>> = [];
    if (member && firstForUser) {
      const userInfo = member.userInfo === null ? null : JSON.parse(member.userInfo);
      sends.push(this.#fanOut(target, frame.memberAdded(channel, member.userId, userInfo), subscriber.socketId));
      this.#webhookOnJoin(target, app, { name: 'member_added', channel, user_id: member.userId });
    }
    sends.push(this.#announceSubscriptionCount(target, app));
    await Promise.all([...sends, this.#scheduleAlarm(app)]);
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
      sends.push(this.#fanOut(target, frame.memberRemoved(channel, result.userGone)));
      this.#queueWebhook(target, app, { name: 'member_removed', channel, user_id: result.userGone }, leaveDelayMs);
    }
    if (result.lastInChannel) this.#queueWebhook(target, app, { name: 'channel_vacated', channel }, leaveDelayMs);
    sends.push(this.#announceSubscriptionCount(target, app));
    // The alarm is set in the same turn as the writes, so an object evicted mid-call still cleans up.
    await Promise.all([...sends, this.#scheduleAlarm(app)]);
  }

  /** Publishes an event to every subscriber (but `socketId`), on every shard that has one. */
  async publish(target: ChannelTarget, event: ChannelEvent, info: readonly string[] = []): Promise<ChannelCounts> {
    const app = this.#app(target);
    const { channel } = target;
    const cached = this.#cache(target, event);
    await Promise.all([
      this.#fanOut(target, frame.event(channel, event.name, event.data), event.socketId),
      ...(cached ? [this.#scheduleAlarm(app)] : []),
    ]);
    return this.#counts(channel, info);
  }

  /**
   * Keeps a cache channel's event that a single shard published itself (the one-shard fast path,
   * which skips this object for the fan-out), and reports counts when asked.
   */
  async remember(target: ChannelTarget, event: ChannelEvent | null, info: readonly string[] = []): Promise<ChannelCounts> {
    const app = this.#app(target);
    if (event && this.#cache(target, event)) await this.#scheduleAlarm(app);
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
    this.#queueWebhook(
      target,
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
    await Promise.all([
      this.#fanOut(target, frame.eventWithJsonData(channel, event.name, event.dataJson, userId), event.socketId),
      this.#scheduleAlarm(app),
    ]);
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
    this.#keep(target);
    if (this.#state.signIn(socketId, shard)) await this.#tellWatchers(target, 'online');
  }

  /** A signed-in socket closed; watchers hear `offline` after the user's last one. */
  async signOut(target: ChannelTarget, socketId: string): Promise<void> {
    const app = this.#app(target);
    const wentOffline = this.#state.signOut(socketId);
    await Promise.all([...(wentOffline ? [this.#tellWatchers(target, 'offline')] : []), this.#scheduleAlarm(app)]);
  }

  /** A socket watches this channel's user; answers whether the user is online now. */
  async watch(target: ChannelTarget, socketId: string, shard: number): Promise<boolean> {
    this.#app(target);
    this.#keep(target);
    this.#state.watch(socketId, shard);
    return this.#state.isOnline();
  }

  async unwatch(target: ChannelTarget, socketId: string): Promise<void> {
    const app = this.#app(target);
    this.#state.unwatch(socketId);
    await this.#scheduleAlarm(app);
  }

  /** Closes every signed-in socket of this channel's user (4009), on every shard; returns how many. */
  async terminate(target: ChannelTarget): Promise<number> {
    this.#app(target);
    const counts = await Promise.all(
      [...this.#state.signedInSockets()].map(([shard, socketIds]) => this.#shard(target.appId, shard).terminate(socketIds)),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  }

  /**
   * Sends due webhooks; then, if the object keeps nothing worth keeping, deletes all of its storage,
   * else sets the next alarm. Cleaning up here rather than on the last leave lets a quick rejoin
   * (a page reload) find the object as it was, and the runtime retries an alarm that did not
   * finish, so a cleanup cut short by an eviction is redone.
   */
  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const target = this.#state.target();
    const app = target ? loadApps(this.env).byId(target.appId) : undefined;
    if (app && this.#webhooks) await this.#webhooks.deliverDue(app, Date.now(), this.#log);
    if (!app || this.#keepsNothing(Date.now())) {
      if (target && !app) this.#log.warn('channel storage deleted: its app no longer exists', { app_id: target.appId });
      await this.#deleteStorage();
      return;
    }
    await this.#scheduleAlarm(app, true);
  }

  #app(target: ChannelTarget): RealtimeApp {
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
  async #fanOut(target: ChannelTarget, text: string, exceptSocketId?: string): Promise<void> {
    const shards = this.#state.shards();
    await Promise.all(shards.map((index) => this.#shard(target.appId, index).deliver(target.channel, text, exceptSocketId)));
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
  async #announceSubscriptionCount(target: ChannelTarget, app: RealtimeApp): Promise<void> {
    const { channel } = target;
    const kind = channelKind(channel);
    if (!app.subscriptionCount || kind.presence || kind.serverToUser) return;
    const count = this.#state.subscriptionCount();
    this.#queueWebhook(target, app, { name: 'subscription_count', channel, subscription_count: count }, 0);
    await this.#fanOut(target, frame.subscriptionCount(channel, count));
  }

  /** A join event cancels a pending leave of the same channel/user instead of flapping; else it goes out now. */
  #webhookOnJoin(target: ChannelTarget, app: RealtimeApp, event: WebhookEvent & { name: 'channel_occupied' | 'member_added' }): void {
    if (app.webhookUrl === null) return;
    const webhooks = this.#keep(target);
    const cancelled =
      event.name === 'channel_occupied'
        ? webhooks.cancel('channel_vacated', event.channel, null)
        : webhooks.cancel('member_removed', event.channel, event.user_id);
    if (!cancelled) webhooks.enqueue(event, Date.now());
  }

  #queueWebhook(target: ChannelTarget, app: RealtimeApp, event: WebhookEvent, delayMs: number): void {
    if (app.webhookUrl === null) return;
    this.#keep(target).enqueue(event, Date.now() + delayMs);
  }

  /** Keeps a cache channel's event (a publish to any other channel stores nothing); true if it did. */
  #cache(target: ChannelTarget, event: ChannelEvent): boolean {
    if (!channelKind(target.channel).cache) return false;
    this.#keep(target);
    this.#state.cacheEvent(event.name, event.data, Date.now());
    return true;
  }

  /**
   * Makes the object ready to store: creates its tables (once, or again after a cleanup), which
   * record the app and channel it serves for its alarm. Returns its webhook outbox.
   */
  #keep(target: ChannelTarget): WebhookQueue {
    if (!this.#webhooks) {
      this.#state.create(target);
      this.#webhooks = new WebhookQueue(this.ctx.storage.sql);
    }
    return this.#webhooks;
  }

  /** Whether nothing here is worth keeping: nobody in the channel, no webhook to send, no cached event still valid. */
  #keepsNothing(now: number): boolean {
    if (!this.#webhooks) return true;
    return this.#state.idle() && this.#webhooks.nextDueAt() === null && this.#state.cachedEvent(now) === null;
  }

  /**
   * Deletes every table and the alarm: `deleteAll()` empties a SQLite-backed object's database at
   * once, and deletes its alarm too since compatibility date 2026-02-24. The memory forgets first,
   * in the same synchronous step, so a call that arrives while the deletion commits finds no tables
   * and creates them again instead of being wiped with them.
   */
  async #deleteStorage(): Promise<void> {
    this.#state.forget();
    this.#webhooks = null;
    this.#alarmAt = null;
    await this.ctx.storage.deleteAll();
  }

  /**
   * When the alarm must run next: when the first webhook is due and, once nobody is in the channel,
   * when the object may be cleaned up: after the leave delay (a quick rejoin finds it as it was), and
   * not before its cached event expires. Null when nothing needs it.
   */
  #nextAlarmAt(app: RealtimeApp, now: number): number | null {
    if (!this.#webhooks) return null;
    const webhooksDue = this.#webhooks.nextDueAt();
    if (!this.#state.idle()) return webhooksDue;
    const cleanupAt = Math.max(now + app.webhookLeaveDelay * 1000, this.#state.cachedEvent(now)?.expiresAt ?? 0);
    return webhooksDue === null ? cleanupAt : Math.min(webhooksDue, cleanupAt);
  }

  async #scheduleAlarm(app: RealtimeApp, replace = false): Promise<void> {
    if (this.#nextAlarmAt(app, Date.now()) === null) return;
    if (!replace && this.#alarmAt === undefined) this.#alarmAt = await this.ctx.storage.getAlarm();
    // Again after the await: a call that ran meanwhile (a cleanup, a join) may have changed it.
    const next = this.#nextAlarmAt(app, Date.now());
    if (next === null) return;
    const current = replace ? null : this.#alarmAt;
    if (current === null || current === undefined || next < current) {
      this.#alarmAt = next;
      await this.ctx.storage.setAlarm(next);
    }
  }
}
