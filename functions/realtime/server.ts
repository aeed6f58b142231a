import { DurableObject } from 'cloudflare:workers';
import { loadApps, type RealtimeApp } from './apps.ts';
import { ChannelStore, type Member } from './channels.ts';
import { activityVerdict, newConnectionState, takeClientEvent, type Connection, type ConnectionState } from './connection.ts';
import { createLogger, type Logger } from '../log.ts';
import {
  byteLength,
  channelKind,
  channelNameProblem,
  CLIENT_PING_FRAME,
  CloseCode,
  connectionEstablished,
  dataObject,
  decodeClientMessage,
  encode,
  errorFrame,
  Limits,
  newSocketId,
  PING_FRAME,
  PONG_FRAME,
  serverToUserId,
  type ChannelKind,
  type ClientMessage,
} from './protocol.ts';
import { validatePublish, type PublishRequest } from './publishing.ts';
import { refuseWebSocket } from './refusal.ts';
import { channelAuth, constantTimeEqual, userAuth } from './signatures.ts';
import { parseWatchlist, UserStore, type WatchlistEvent } from './users.ts';
import { WebhookQueue, type WebhookEvent } from './webhooks.ts';

/** What `GET /channels/{name}` reports. */
export interface ChannelInfo {
  occupied: boolean;
  user_count?: number;
  subscription_count?: number;
  cache?: { event: string; data: string; ttl: number };
}

/** Per-channel counts returned by a publish that asked for `info`. */
export type PublishInfo = Record<string, { user_count?: number; subscription_count?: number }>;

/** Attachments are refreshed at most this often on traffic, to keep writes off the hot path. */
const LAST_SEEN_REFRESH_MS = 5000;

/**
 * The realtime server: a Pusher Channels (protocol 7) server on a Durable Object with the
 * WebSocket Hibernation API. One object serves one app. Connections (sockets and their
 * attachments) are this class's concern; channels, presence and the cache live in ChannelStore,
 * signed-in users and watchlists in UserStore, webhooks in WebhookQueue, all in the object's
 * SQLite storage, so an evicted object wakes up with every subscription intact.
 */
export class RealtimeServer extends DurableObject<Env> {
  private readonly channels: ChannelStore;
  private readonly webhooks: WebhookQueue;
  private readonly users: UserStore;
  private readonly connections = new Map<string, Connection>();
  private readonly log: Logger;
  private resolvedApp: RealtimeApp | undefined;
  /** The alarm as last set or read (null: none); undefined until known. Saves a storage read per connect and subscribe. */
  private alarmAt: number | null | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.log = createLogger(env.LOG_LEVEL, { component: 'realtime' });
    this.channels = new ChannelStore(ctx.storage.sql);
    this.webhooks = new WebhookQueue(ctx.storage.sql);
    this.users = new UserStore(ctx.storage.sql);
    // pusher-js pings every activity timeout; the runtime answers without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(CLIENT_PING_FRAME, PONG_FRAME));
    for (const ws of ctx.getWebSockets()) {
      const state = ws.deserializeAttachment() as ConnectionState | null;
      if (state) this.connections.set(state.socketId, { ws, state });
    }
    this.dropVanishedSockets();
  }

  /** The WebSocket endpoint `/app/{key}`; the Worker has already checked the key, app and protocol. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
      return Response.json({ error: 'Expected a WebSocket upgrade (Upgrade: websocket)' }, { status: 426 });
    }
    const app = this.app();
    if (this.connections.size >= app.maxConnections) {
      this.log.warn('connection refused: over quota', { app_id: app.id, connections: this.connections.size });
      return refuseWebSocket(CloseCode.overConnectionQuota, `Over the connection quota of ${app.maxConnections}`);
    }
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    const state = newConnectionState(newSocketId(), Date.now());
    server.serializeAttachment(state);
    this.connections.set(state.socketId, { ws: server, state });
    server.send(connectionEstablished(state.socketId, app.activityTimeout));
    this.log.info('connection opened', { app_id: app.id, socket_id: state.socketId, connections: this.connections.size });
    await this.scheduleAlarm();
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const connection = this.connectionOf(ws);
    if (!connection) return;
    this.touch(connection);
    if (typeof message !== 'string') {
      ws.send(errorFrame('Binary frames are not supported: send UTF-8 JSON text'));
      return;
    }
    const size = byteLength(message);
    if (size > Limits.frameBytes) {
      ws.send(errorFrame(`Message too large: ${size} bytes (at most ${Limits.frameBytes})`));
      return;
    }
    const decoded = decodeClientMessage(message);
    if (typeof decoded === 'string') {
      ws.send(errorFrame(decoded));
      return;
    }
    await this.handle(connection, decoded);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const state = ws.deserializeAttachment() as ConnectionState | null;
    // Complete the closing handshake, or a client that closed cleanly waits for our close frame.
    this.closeSocket(ws, code >= 3000 && code < 5000 ? code : 1000, 'Closed');
    if (!state) return;
    this.log.info('connection closed', { socket_id: state.socketId, code, reason });
    await this.dropConnection(state.socketId);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    const state = ws.deserializeAttachment() as ConnectionState | null;
    this.log.warn('connection error', { socket_id: state?.socketId, error: String(error) });
    if (state) await this.dropConnection(state.socketId);
  }

  /** Pings idle clients, closes silent ones (4201), and sends due webhooks; then sets the next alarm. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const now = Date.now();
    this.checkActivity(now);
    await this.webhooks.deliverDue(this.app(), now, this.log);
    await this.scheduleAlarm(true);
  }

  /**
   * Publishes one event (the RPC the `realtime` broadcaster calls). Same rules as
   * `POST /apps/{id}/events`; throws an Error naming the problem on bad input.
   */
  async publish(request: PublishRequest): Promise<void> {
    this.deliver(validatePublish(request));
  }

  /** Publishes events in order and reports `info` (user_count, subscription_count) per channel. */
  async trigger(requests: PublishRequest[], info: string[] = []): Promise<PublishInfo[]> {
    const valid = requests.map((request) => validatePublish(request));
    return valid.map((request) => {
      this.deliver(request);
      return this.publishInfo(request.channels, info);
    });
  }

  /** Occupied channels (optionally by prefix), with user_count for presence channels when asked. */
  async listChannels(prefix: string, withUserCount: boolean): Promise<Record<string, { user_count?: number }>> {
    const result: Record<string, { user_count?: number }> = {};
    for (const channel of this.channels.occupiedChannels(prefix)) {
      result[channel] = withUserCount ? { user_count: this.channels.userCount(channel) } : {};
    }
    return result;
  }

  /** One channel's state for `GET /channels/{name}`. */
  async channelInfo(channel: string, attributes: string[]): Promise<ChannelInfo> {
    const subscriptions = this.channels.subscriptionCount(channel);
    const info: ChannelInfo = { occupied: subscriptions > 0 };
    if (attributes.includes('user_count')) info.user_count = this.channels.userCount(channel);
    if (attributes.includes('subscription_count')) info.subscription_count = subscriptions;
    if (attributes.includes('cache')) {
      const now = Date.now();
      const cached = this.channels.cachedEvent(channel, now);
      if (cached) info.cache = { event: cached.event, data: cached.data, ttl: Math.ceil((cached.expiresAt - now) / 1000) };
    }
    return info;
  }

  /** The users in a presence channel, each once. */
  async presenceUsers(channel: string): Promise<Array<{ id: string }>> {
    return this.channels.members(channel).ids.map((id) => ({ id }));
  }

  /** Closes every socket signed in as a user (4009); returns how many. */
  async terminateUserConnections(userId: string): Promise<number> {
    const targets = [...this.connections.values()].filter((connection) => connection.state.userId === userId);
    for (const connection of targets) {
      this.closeSocket(connection.ws, CloseCode.unauthorized, 'Connection terminated by the server');
      await this.dropConnection(connection.state.socketId);
    }
    this.log.info('user connections terminated', { user_id: userId, count: targets.length });
    return targets.length;
  }

  private app(): RealtimeApp {
    if (!this.resolvedApp) {
      // The object does not know the name it was created from; find the app whose id maps to it.
      const found = loadApps(this.env).all.find((app) => this.env.REALTIME.idFromName(app.id).equals(this.ctx.id));
      if (!found) throw new Error('This realtime object belongs to no configured app: was the app removed from PUSHER_APP_ID or REALTIME_APPS?');
      this.resolvedApp = found;
    }
    return this.resolvedApp;
  }

  private async handle(connection: Connection, message: ClientMessage): Promise<void> {
    switch (message.event) {
      case 'pusher:ping':
        connection.ws.send(PONG_FRAME);
        return;
      case 'pusher:pong':
        return;
      case 'pusher:subscribe':
        return this.subscribe(connection, message);
      case 'pusher:unsubscribe': {
        const channel = dataObject(message.data)?.channel;
        if (typeof channel === 'string') await this.leave(connection.state.socketId, channel);
        return;
      }
      case 'pusher:signin':
        return this.signin(connection, message);
      default:
        if (message.event.startsWith('client-')) return this.clientEvent(connection, message);
        connection.ws.send(errorFrame(`Unsupported event: '${message.event.slice(0, 100)}'`));
    }
  }

  private async subscribe(connection: Connection, message: ClientMessage): Promise<void> {
    const { ws, state } = connection;
    const data = dataObject(message.data);
    const channel = data?.channel;
    const problem = channelNameProblem(channel, true);
    if (problem || typeof channel !== 'string') {
      ws.send(errorFrame(problem ?? 'Invalid pusher:subscribe: expected data {channel}'));
      return;
    }
    const kind = channelKind(channel);
    const app = this.app();
    if (kind.serverToUser && state.userId !== serverToUserId(channel)) {
      this.subscriptionError(ws, channel, 403, 'Only a socket signed in as this user may subscribe to its server-to-user channel');
      return;
    }
    let member: Member | null = null;
    if (kind.authorized) {
      const channelData = kind.presence ? data?.channel_data : undefined;
      if (kind.presence && typeof channelData !== 'string') {
        this.subscriptionError(ws, channel, 401, 'Presence channels need channel_data (a JSON string with user_id)');
        return;
      }
      const expected = channelAuth(app.key, app.secret, state.socketId, channel, channelData as string | undefined);
      if (typeof data?.auth !== 'string' || !constantTimeEqual(data.auth, expected)) {
        this.log.info('subscription refused: invalid auth', { socket_id: state.socketId, channel });
        this.subscriptionError(ws, channel, 401, `Invalid signature for channel '${channel}': sign socket_id:channel${kind.presence ? ':channel_data' : ''} with the app secret`);
        return;
      }
      if (kind.presence) {
        const parsed = parseMember(channelData as string);
        if (typeof parsed === 'string') {
          this.subscriptionError(ws, channel, 400, parsed);
          return;
        }
        member = parsed;
      }
    }
    await this.join(connection, channel, kind, member);
  }

  private async join(connection: Connection, channel: string, kind: ChannelKind, member: Member | null): Promise<void> {
    const { ws, state } = connection;
    const app = this.app();
    if (member && !this.channels.hasUser(channel, member.userId) && !this.channels.isSubscribed(channel, state.socketId)) {
      if (this.channels.userCount(channel) >= app.maxPresenceMembers) {
        this.subscriptionError(ws, channel, 403, `Presence channel '${channel}' is full (at most ${app.maxPresenceMembers} members)`);
        return;
      }
    }
    const { firstInChannel, firstForUser } = this.channels.subscribe(channel, state.socketId, member);
    const succeeded = kind.presence ? { presence: this.channels.members(channel) } : {};
    ws.send(encode({ event: 'pusher_internal:subscription_succeeded', channel, data: JSON.stringify(succeeded) }));
    this.log.debug('subscribed', { socket_id: state.socketId, channel });
    if (member && firstForUser) {
      const added = encode({ event: 'pusher_internal:member_added', channel, data: JSON.stringify({ user_id: member.userId, user_info: member.userInfo === null ? null : JSON.parse(member.userInfo) }) });
      this.fanOut(channel, added, state.socketId);
      this.webhookOnJoin({ name: 'member_added', channel, user_id: member.userId });
    }
    if (firstInChannel) this.webhookOnJoin({ name: 'channel_occupied', channel });
    this.announceSubscriptionCount(channel, kind);
    if (kind.cache) {
      const cached = this.channels.cachedEvent(channel, Date.now());
      if (cached) {
        ws.send(encode({ event: cached.event, channel, data: cached.data }));
      } else {
        ws.send(encode({ event: 'pusher:cache_miss', channel }));
        this.queueWebhook({ name: 'cache_miss', channel }, 0);
      }
    }
    await this.scheduleAlarm();
  }

  private async leave(socketId: string, channel: string): Promise<void> {
    const result = this.channels.unsubscribe(channel, socketId);
    if (!result.left) return;
    this.log.debug('unsubscribed', { socket_id: socketId, channel });
    if (result.userGone !== null) {
      this.fanOut(channel, encode({ event: 'pusher_internal:member_removed', channel, data: JSON.stringify({ user_id: result.userGone }) }));
      this.queueWebhook({ name: 'member_removed', channel, user_id: result.userGone }, this.app().webhookLeaveDelay * 1000);
    }
    if (result.lastInChannel) this.queueWebhook({ name: 'channel_vacated', channel }, this.app().webhookLeaveDelay * 1000);
    this.announceSubscriptionCount(channel, channelKind(channel));
    await this.scheduleAlarm();
  }

  /**
   * With subscription counting on, every join and leave tells the channel's sockets the new count
   * (pusher-js exposes it as `channel.subscriptionCount`) and queues a `subscription_count` webhook.
   * That is one frame per subscriber per change, which is why it is off unless asked for.
   * Presence channels have member events instead; server-to-user channels are private to a user.
   */
  private announceSubscriptionCount(channel: string, kind: ChannelKind): void {
    if (!this.app().subscriptionCount || kind.presence || kind.serverToUser) return;
    const count = this.channels.subscriptionCount(channel);
    this.fanOut(channel, encode({ event: 'pusher_internal:subscription_count', channel, data: JSON.stringify({ subscription_count: count }) }));
    this.queueWebhook({ name: 'subscription_count', channel, subscription_count: count }, 0);
  }

  private async clientEvent(connection: Connection, message: ClientMessage): Promise<void> {
    const { ws, state } = connection;
    const app = this.app();
    if (!app.clientEvents) {
      ws.send(errorFrame('Client events are not enabled for this app (set REALTIME_CLIENT_EVENTS=true)'));
      return;
    }
    const channel = message.channel;
    if (typeof channel !== 'string' || channelNameProblem(channel) || !channelKind(channel).authorized) {
      ws.send(errorFrame(`Client events are allowed only on private and presence channels, not '${String(channel).slice(0, 200)}'`));
      return;
    }
    if (!this.channels.isSubscribed(channel, state.socketId)) {
      ws.send(errorFrame(`Not subscribed to '${channel}': subscribe before sending client events on it`));
      return;
    }
    const verdict = takeClientEvent(state, Date.now());
    if (verdict === 'reject') {
      ws.send(errorFrame(`Client event rejected: more than ${Limits.clientEventsPerSecond} per second`, CloseCode.clientEventRateLimit));
      return;
    }
    if (verdict === 'close') {
      this.log.info('connection closed: client event flood', { socket_id: state.socketId });
      this.closeSocket(ws, CloseCode.clientEventRateLimit, `Client event rate limit exceeded (${Limits.clientEventsPerSecond} per second)`);
      await this.dropConnection(state.socketId);
      return;
    }
    const data = typeof message.data === 'string' ? message.data : JSON.stringify(message.data ?? null);
    if (byteLength(data) > Limits.eventDataBytes) {
      ws.send(errorFrame(`Client event data too large: ${byteLength(data)} bytes (at most ${Limits.eventDataBytes})`));
      return;
    }
    const userId = this.channels.memberOf(channel, state.socketId);
    const frame = encode({ event: message.event, channel, data: message.data, ...(userId !== null ? { user_id: userId } : {}) });
    this.fanOut(channel, frame, state.socketId);
    this.queueWebhook({ name: 'client_event', channel, event: message.event, data, socket_id: state.socketId, ...(userId !== null ? { user_id: userId } : {}) }, 0);
    await this.scheduleAlarm();
  }

  private async signin(connection: Connection, message: ClientMessage): Promise<void> {
    const { ws, state } = connection;
    const app = this.app();
    if (!app.userAuthentication) {
      ws.send(errorFrame('User authentication is not enabled for this app (set REALTIME_USER_AUTHENTICATION=true)'));
      return;
    }
    const data = dataObject(message.data);
    const userData = data?.user_data;
    const auth = data?.auth;
    const userId = typeof userData === 'string' ? userIdOf(userData) : null;
    if (typeof userData !== 'string' || typeof auth !== 'string' || !constantTimeEqual(auth, userAuth(app.key, app.secret, state.socketId, userData))) {
      this.log.info('signin refused: invalid auth', { socket_id: state.socketId });
      this.closeSocket(ws, CloseCode.unauthorized, 'Invalid signin: sign socket_id::user::user_data with the app secret');
      await this.dropConnection(state.socketId);
      return;
    }
    if (userId === null) {
      this.closeSocket(ws, CloseCode.unauthorized, 'Invalid signin: user_data must be a JSON object with a string id');
      await this.dropConnection(state.socketId);
      return;
    }
    let watchlist = parseWatchlist(dataObject(userData)?.watchlist);
    if (typeof watchlist === 'string') {
      // Pusher signs the user in anyway and reports the watchlist problem.
      ws.send(errorFrame(watchlist, watchlist.startsWith('Watchlist over limit') ? CloseCode.watchlistOverLimit : null));
      watchlist = [];
    }
    state.userId = userId;
    ws.serializeAttachment(state);
    const { cameOnline, initial } = this.users.signIn(state.socketId, userId, watchlist);
    ws.send(encode({ event: 'pusher:signin_success', data: JSON.stringify({ user_data: userData }) }));
    if (initial.length > 0) ws.send(watchlistFrame(initial));
    if (cameOnline) this.tellWatchers(userId, 'online');
    this.log.info('signed in', { socket_id: state.socketId, user_id: userId, watchlist: watchlist.length });
  }

  /** Sends a watched user's new status to every socket watching it. */
  private tellWatchers(userId: string, name: 'online' | 'offline'): void {
    const frame = watchlistFrame([{ name, user_ids: [userId] }]);
    for (const socketId of this.users.watchersOf(userId)) {
      try {
        this.connections.get(socketId)?.ws.send(frame);
      } catch {
        // Closing; its close handler cleans up.
      }
    }
  }

  private deliver(request: PublishRequest): void {
    const now = Date.now();
    for (const channel of request.channels) {
      this.fanOut(channel, encode({ event: request.name, channel, data: request.data }), request.socketId);
      this.channels.cacheEvent(channel, request.name, request.data, now);
    }
    this.log.debug('event published', { event: request.name, channels: request.channels.length });
  }

  private publishInfo(channels: string[], info: string[]): PublishInfo {
    const result: PublishInfo = {};
    if (info.length === 0) return result;
    for (const channel of channels) {
      const entry: { user_count?: number; subscription_count?: number } = {};
      if (info.includes('user_count') && channelKind(channel).presence) entry.user_count = this.channels.userCount(channel);
      if (info.includes('subscription_count')) entry.subscription_count = this.channels.subscriptionCount(channel);
      result[channel] = entry;
    }
    return result;
  }

  /** Sends a frame to every socket subscribed to a channel, except one. */
  private fanOut(channel: string, frame: string, exceptSocketId?: string): void {
    for (const socketId of this.channels.subscriberIds(channel)) {
      if (socketId === exceptSocketId) continue;
      const connection = this.connections.get(socketId);
      try {
        connection?.ws.send(frame);
      } catch {
        // The socket is closing; its close handler cleans up.
      }
    }
  }

  private subscriptionError(ws: WebSocket, channel: string, status: number, error: string): void {
    const type = status === 401 ? 'AuthError' : status === 403 ? 'LimitReached' : 'InvalidData';
    ws.send(encode({ event: 'pusher:subscription_error', channel, data: JSON.stringify({ type, error, status }) }));
  }

  private connectionOf(ws: WebSocket): Connection | undefined {
    const state = ws.deserializeAttachment() as ConnectionState | null;
    if (!state) return undefined;
    let connection = this.connections.get(state.socketId);
    if (!connection) {
      connection = { ws, state };
      this.connections.set(state.socketId, connection);
    }
    return connection;
  }

  /** Records activity; the attachment is rewritten only every few seconds or when a ping was pending. */
  private touch(connection: Connection): void {
    const now = Date.now();
    const { state } = connection;
    const stale = now - state.lastSeenAt > LAST_SEEN_REFRESH_MS || state.pingSentAt !== null;
    state.lastSeenAt = now;
    state.pingSentAt = null;
    if (stale) connection.ws.serializeAttachment(state);
  }

  private checkActivity(now: number): void {
    const timeoutMs = this.app().activityTimeout * 1000;
    for (const connection of [...this.connections.values()]) {
      const autoPing = this.ctx.getWebSocketAutoResponseTimestamp(connection.ws)?.getTime() ?? 0;
      const verdict = activityVerdict(connection.state, Math.max(connection.state.lastSeenAt, autoPing), now, timeoutMs);
      if (verdict === 'ping') {
        connection.state.pingSentAt = now;
        connection.ws.serializeAttachment(connection.state);
        try {
          connection.ws.send(PING_FRAME);
        } catch {
          // Closing already.
        }
      } else if (verdict === 'close') {
        this.log.info('connection closed: pong not received', { socket_id: connection.state.socketId });
        try {
          connection.ws.send(errorFrame('Pong not received in time', CloseCode.pongNotReceived));
        } catch {
          // Closing already.
        }
        this.closeSocket(connection.ws, CloseCode.pongNotReceived, 'Pong not received in time');
        void this.dropConnection(connection.state.socketId);
      }
    }
  }

  private closeSocket(ws: WebSocket, code: number, reason: string): void {
    try {
      ws.close(code, reason.slice(0, 120));
    } catch {
      // Already closed.
    }
  }

  private async dropConnection(socketId: string): Promise<void> {
    this.connections.delete(socketId);
    for (const channel of this.channels.channelsOf(socketId)) await this.leave(socketId, channel);
    const wentOffline = this.users.signOut(socketId);
    if (wentOffline !== null) this.tellWatchers(wentOffline, 'offline');
  }

  /** Subscriptions of sockets that are gone (the object restarted) are left, with the usual events. */
  private dropVanishedSockets(): void {
    const known = new Set([...this.channels.allSubscriberIds(), ...this.users.allSocketIds()]);
    const vanished = [...known].filter((socketId) => !this.connections.has(socketId));
    if (vanished.length === 0) return;
    this.log.info('dropping subscriptions of vanished sockets', { count: vanished.length });
    this.ctx.waitUntil(Promise.all(vanished.map((socketId) => this.dropConnection(socketId))));
  }

  /** A join event cancels a pending leave of the same channel/user instead of flapping; else it goes out now. */
  private webhookOnJoin(event: WebhookEvent & { name: 'channel_occupied' | 'member_added' }): void {
    if (this.app().webhookUrl === null) return;
    const cancelled = event.name === 'channel_occupied'
      ? this.webhooks.cancel('channel_vacated', event.channel, null)
      : this.webhooks.cancel('member_removed', event.channel, event.user_id);
    if (!cancelled) this.webhooks.enqueue(event, Date.now());
  }

  private queueWebhook(event: WebhookEvent, delayMs: number): void {
    if (this.app().webhookUrl === null) return;
    this.webhooks.enqueue(event, Date.now() + delayMs);
  }

  /** Sets the alarm to the earliest of the next webhook and the next activity check. */
  private async scheduleAlarm(replace = false): Promise<void> {
    const candidates = [this.webhooks.nextDueAt()];
    if (this.connections.size > 0) candidates.push(Date.now() + this.app().activityTimeout * 1000);
    const due = candidates.filter((time): time is number => time !== null);
    if (due.length === 0) return;
    const next = Math.min(...due);
    if (!replace && this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    const current = replace ? null : this.alarmAt;
    if (current === null || current === undefined || next < current) {
      this.alarmAt = next;
      await this.ctx.storage.setAlarm(next);
    }
  }
}

/** Parses presence channel_data: `{"user_id": string|number, "user_info"?: object}` within Pusher's limits. */
function parseMember(channelData: string): Member | string {
  const data = dataObject(channelData);
  const rawId = data?.user_id;
  if (data === null || (typeof rawId !== 'string' && typeof rawId !== 'number') || String(rawId).length === 0) {
    return 'Invalid channel_data: expected a JSON object with a user_id';
  }
  const userId = String(rawId);
  if (userId.length > Limits.userIdLength) return `Invalid user_id: ${userId.length} characters (at most ${Limits.userIdLength})`;
  const userInfo = data.user_info === undefined ? null : JSON.stringify(data.user_info);
  if (userInfo !== null && byteLength(userInfo) > Limits.userInfoBytes) {
    return `user_info too large: ${byteLength(userInfo)} bytes (at most ${Limits.userInfoBytes})`;
  }
  return { userId, userInfo };
}

/** `pusher_internal:watchlist_events`, which pusher-js hands to `pusher.user.watchlist`. */
function watchlistFrame(events: WatchlistEvent[]): string {
  return encode({ event: 'pusher_internal:watchlist_events', data: JSON.stringify({ events }) });
}

/** The string id of signin user_data, or null. */
function userIdOf(userData: string): string | null {
  const id = dataObject(userData)?.id;
  return typeof id === 'string' && id.length > 0 && id.length <= Limits.userIdLength ? id : null;
}
