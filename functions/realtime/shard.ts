/**
 * A connection shard: one of the Durable Objects an app's WebSockets are spread over, with the
 * WebSocket Hibernation API. It holds its sockets and their attachments, answers the protocol
 * (through subscriptions.ts, client-events.ts, signin.ts and activity.ts), and delivers the frames
 * channel objects fan out to it. Its sockets' channels are kept in SQLite, so an evicted shard wakes
 * up with every subscription intact; a socket that vanished while it was away is made to leave, and
 * a leave or sign-out that a channel object failed is made again by the alarm.
 */
import { DurableObject } from 'cloudflare:workers';
import { byteLength, channelKind, Limits } from '../broadcast/pusher-rules.ts';
import { createLogger, type Logger } from '../log.ts';
import { activityVerdict, noteActivity } from './activity.ts';
import { type Admission, Admissions, type ShardCensus, type ShardCounts, UNKNOWN_ADDRESS } from './admission.ts';
import { loadApps, type RealtimeApp } from './apps.ts';
import type { ChannelCounts } from './channel.ts';
import { clientEvent } from './client-events.ts';
import { type Connection, type ConnectionState, newConnectionState } from './connection.ts';
import {
  CLIENT_PING_FRAME,
  type ClientMessage,
  CloseCode,
  decodeClientMessage,
  frame,
  newSocketId,
  PING_FRAME,
  PONG_FRAME,
} from './frames.ts';
import { channelObject, directoryObject } from './placement.ts';
import type { PublishRequest } from './publishing.ts';
import { refuseWebSocket } from './refusal.ts';
import type { ChannelCalls, ShardContext } from './shard-context.ts';
import { SignIns, signin, signOut } from './signin.ts';
import { LocalSubscriptions, subscribe, unsubscribe } from './subscriptions.ts';

/** Headers the Worker sets on the upgrade it hands to a shard (a client's own are replaced). */
export const SHARD_HEADERS = {
  app: 'X-Tidings-Realtime-App',
  shard: 'X-Tidings-Realtime-Shard',
  address: 'X-Tidings-Client-Address',
} as const;

export class RealtimeShard extends DurableObject<Env> {
  readonly #subscriptions: LocalSubscriptions;
  readonly #signIns: SignIns;
  readonly #connections = new Map<string, Connection>();
  readonly #channelStubs = new Map<string, ChannelCalls>();
  readonly #log: Logger;
  #identity: { appId: string; shard: number } | null;
  /** Connections the directory is being asked to admit, per address (several shards: see #admit). */
  readonly #admitting = new Map<string, number>();
  /** Open connections per client address. */
  readonly #byAddress = new Map<string, number>();
  /** The limits' counts when the app has one shard (the directory keeps them with several). */
  readonly #localAdmissions = new Admissions();
  #directoryStub: ReturnType<typeof directoryObject> | undefined;
  /** The alarm as last set or read (null: none); undefined until known. */
  #alarmAt: number | null | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#log = createLogger(env.LOG_LEVEL, { component: 'realtime' });
    ctx.storage.sql.exec(
      'create table if not exists identity (id integer primary key check (id = 1), app_id text not null, shard integer not null)',
    );
    const row = ctx.storage.sql.exec<{ app_id: string; shard: number }>('select app_id, shard from identity').toArray()[0];
    this.#identity = row ? { appId: row.app_id, shard: row.shard } : null;
    this.#subscriptions = new LocalSubscriptions(ctx.storage.sql);
    this.#signIns = new SignIns(ctx.storage.sql);
    // pusher-js pings every activity timeout; the runtime answers without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(CLIENT_PING_FRAME, PONG_FRAME));
    for (const ws of ctx.getWebSockets()) {
      const state = ws.deserializeAttachment() as ConnectionState | null;
      if (state) {
        this.#connections.set(state.socketId, { ws, state });
        this.#countAddress(state.address, 1);
      }
    }
    for (const [address, count] of this.#byAddress) {
      this.#localAdmissions.report(0, { total: this.#connections.size, address, fromAddress: count });
    }
    ctx.waitUntil(this.#dropVanishedSockets());
  }

  /** The WebSocket endpoint `/app/{key}`; the Worker has checked the key, app and protocol, and picked this shard. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
      return Response.json({ error: 'Expected a WebSocket upgrade (Upgrade: websocket)' }, { status: 426 });
    }
    this.#rememberIdentity(request);
    const app = this.#app();
    const address = request.headers.get(SHARD_HEADERS.address) ?? UNKNOWN_ADDRESS;
    const admission = await this.#admit(app, address);
    if (!admission.admitted) {
      this.#log.warn('connection refused', {
        app_id: app.id,
        shard: this.#identity?.shard,
        connections: this.#connections.size,
        reason: admission.reason,
      });
      return refuseWebSocket(admission.code, admission.reason);
    }
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    const state = newConnectionState(newSocketId(this.#identity!.shard), Date.now(), address);
    server.serializeAttachment(state);
    this.#connections.set(state.socketId, { ws: server, state });
    this.#countAddress(address, 1);
    server.send(frame.connectionEstablished(state.socketId, app.activityTimeout));
    this.#log.info('connection opened', {
      app_id: app.id,
      shard: this.#identity?.shard,
      socket_id: state.socketId,
      connections: this.#connections.size,
    });
    await this.#scheduleAlarm();
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const connection = this.#connectionOf(ws);
    if (!connection) return;
    if (noteActivity(connection.state, Date.now())) ws.serializeAttachment(connection.state);
    if (typeof message !== 'string') {
      this.#context().send(connection, frame.error('Binary frames are not supported: send UTF-8 JSON text'));
      return;
    }
    // A UTF-8 encoding is never shorter than the string: a long one is refused without encoding it.
    const tooLong = message.length > Limits.frameBytes;
    const size = tooLong ? message.length : byteLength(message);
    if (size > Limits.frameBytes) {
      this.#send(connection, frame.error(`Message too large: ${tooLong ? 'at least ' : ''}${size} bytes (at most ${Limits.frameBytes})`));
      return;
    }
    try {
      const decoded = decodeClientMessage(message);
      if (typeof decoded === 'string') {
        this.#send(connection, frame.error(decoded));
        return;
      }
      await this.#handle(connection, decoded);
    } catch (error) {
      // Whatever went wrong, the sender hears it and every other socket keeps being served.
      this.#log.error('message failed', { socket_id: connection.state.socketId, error: String(error) });
      this.#send(connection, frame.error('The server could not handle this message; try again', CloseCode.genericReconnect));
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const state = ws.deserializeAttachment() as ConnectionState | null;
    // Complete the closing handshake, or a client that closed cleanly waits for our close frame.
    closeSocket(ws, code >= 3000 && code < 5000 ? code : 1000, 'Closed');
    if (!state) return;
    this.#log.info('connection closed', { socket_id: state.socketId, code, reason });
    await this.#drop(state.socketId);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    const state = ws.deserializeAttachment() as ConnectionState | null;
    this.#log.warn('connection error', { socket_id: state?.socketId, error: String(error) });
    if (state) await this.#drop(state.socketId);
  }

  /** Makes the leaves and sign-outs still owed, pings idle clients and closes silent ones (4201); then sets the next alarm. */
  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    await Promise.all([this.#makeOwedLeaves(), this.#dropVanishedSockets()]);
    const now = Date.now();
    const timeoutMs = this.#app().activityTimeout * 1000;
    for (const connection of [...this.#connections.values()]) {
      const autoPing = this.ctx.getWebSocketAutoResponseTimestamp(connection.ws)?.getTime() ?? 0;
      const verdict = activityVerdict(connection.state, Math.max(connection.state.lastSeenAt, autoPing), now, timeoutMs);
      if (verdict === 'ping') {
        connection.state.pingSentAt = now;
        connection.ws.serializeAttachment(connection.state);
        this.#send(connection, PING_FRAME);
      } else if (verdict === 'close') {
        this.#log.info('connection closed: pong not received', { socket_id: connection.state.socketId });
        await this.#close(connection, CloseCode.pongNotReceived, 'Pong not received in time');
      }
    }
    await this.#scheduleAlarm(true);
  }

  /** Sends a frame to this shard's sockets in a channel, except one (a channel object's fan-out). */
  async deliver(channel: string, text: string, exceptSocketId?: string): Promise<void> {
    this.#subscriptions.collect(channel, text, exceptSocketId);
    const sockets = this.#subscriptions.sockets(channel);
    if (!sockets) return;
    for (const socketId of sockets) {
      if (socketId === exceptSocketId) continue;
      const connection = this.#connections.get(socketId);
      if (connection) this.#send(connection, text);
    }
  }

  /** Sends a frame to some of this shard's sockets (watchlist events). */
  async sendTo(socketIds: string[], text: string): Promise<void> {
    for (const socketId of socketIds) {
      const connection = this.#connections.get(socketId);
      if (connection) this.#send(connection, text);
    }
  }

  /** Closes sockets (4009: terminated by the server); returns how many were open here. */
  async terminate(socketIds: string[]): Promise<number> {
    const targets = socketIds.map((id) => this.#connections.get(id)).filter((connection) => connection !== undefined);
    await Promise.all(targets.map((connection) => this.#close(connection, CloseCode.unauthorized, 'Connection terminated by the server')));
    this.#log.info('connections terminated', { count: targets.length });
    return targets.length;
  }

  /**
   * Publishes events straight to this shard's sockets: the path when the app has one shard, which
   * holds every socket, so the channel objects are not on the way. They still keep cache channels'
   * events and answer `info` counts.
   */
  async publish(appId: string, requests: PublishRequest[], info: readonly string[] = []): Promise<Array<Record<string, ChannelCounts>>> {
    // An app's only shard may be asked to publish before any socket ever reached it.
    this.#remember(appId, 0);
    const app = this.#app();
    const results: Array<Record<string, ChannelCounts>> = [];
    for (const request of requests) {
      const counts: Record<string, ChannelCounts> = {};
      await Promise.all(
        request.channels.map(async (channel) => {
          await this.deliver(channel, frame.event(channel, request.name, request.data), request.socketId);
          if (info.length > 0 || channelKind(channel).cache) {
            counts[channel] = await this.#channel(channel).remember(
              { appId: app.id, channel },
              { name: request.name, data: request.data },
              info,
            );
          }
        }),
      );
      results.push(counts);
    }
    return results;
  }

  /** Every connection here, per address, admissions under way included (a new directory instance asks). */
  async census(): Promise<ShardCensus> {
    const byAddress = new Map(this.#byAddress);
    let admitting = 0;
    for (const [address, count] of this.#admitting) {
      byAddress.set(address, (byAddress.get(address) ?? 0) + count);
      admitting += count;
    }
    return { total: this.#connections.size + admitting, byAddress: [...byAddress].map(([address, count]) => ({ address, count })) };
  }

  /** The channels with a socket of this shard in them, optionally by prefix (server channels excluded). */
  async channels(prefix: string): Promise<string[]> {
    return this.#subscriptions.channels().filter((channel) => channel.startsWith(prefix) && !channel.startsWith('#'));
  }

  async #handle(connection: Connection, message: ClientMessage): Promise<void> {
    const ctx = this.#context();
    switch (message.event) {
      case 'pusher:ping':
        ctx.send(connection, PONG_FRAME);
        return;
      case 'pusher:pong':
        return;
      case 'pusher:subscribe':
        return subscribe(ctx, connection, message);
      case 'pusher:unsubscribe':
        return unsubscribe(ctx, connection, message);
      case 'pusher:signin':
        return signin(ctx, connection, message, this.#signIns);
      default:
        if (message.event.startsWith('client-')) return clientEvent(ctx, connection, message);
        ctx.send(connection, frame.error(`Unsupported event: '${message.event.slice(0, 100)}'`));
    }
  }

  #context(): ShardContext {
    const app = this.#app();
    return {
      app,
      shard: this.#identity!.shard,
      log: this.#log,
      subscriptions: this.#subscriptions,
      channel: (name) => this.#channel(name),
      isOpen: (connection) => this.#connections.get(connection.state.socketId) === connection,
      send: (connection, text) => this.#send(connection, text),
      persist: (connection) => connection.ws.serializeAttachment(connection.state),
      leave: (channel, socketId) => this.#leave(channel, socketId),
      close: (connection, code, reason) => this.#close(connection, code, reason),
    };
  }

  #app(): RealtimeApp {
    if (!this.#identity) throw new Error('This realtime shard has not been told its app: connections reach it only through /app/{key}');
    const app = loadApps(this.env).byId(this.#identity.appId);
    if (!app) throw new Error(`Unknown realtime app '${this.#identity.appId}': was it removed from PUSHER_APP_ID or REALTIME_APPS?`);
    return app;
  }

  #rememberIdentity(request: Request): void {
    if (this.#identity) return;
    const appId = request.headers.get(SHARD_HEADERS.app);
    const shard = Number(request.headers.get(SHARD_HEADERS.shard));
    if (!appId || !Number.isInteger(shard))
      throw new Error(`A shard needs ${SHARD_HEADERS.app} and ${SHARD_HEADERS.shard} (set by the Worker's /app/{key})`);
    this.#remember(appId, shard);
  }

  #remember(appId: string, shard: number): void {
    if (this.#identity) return;
    this.ctx.storage.sql.exec('insert or replace into identity (id, app_id, shard) values (1, ?, ?)', appId, shard);
    this.#identity = { appId, shard };
  }

  /**
   * The connection limits (admission.ts): counted here with one shard, by the app's directory with
   * several. The counts sent include connections admitted but not open yet, and go through one stub,
   * so the directory sees this shard's reports in the order they were made.
   */
  async #admit(app: RealtimeApp, address: string): Promise<Admission> {
    const counts = this.#counts(address);
    if (app.shards === 1) return this.#localAdmissions.admit(app, 0, counts, Date.now());
    this.#admitting.set(address, (this.#admitting.get(address) ?? 0) + 1);
    try {
      return await this.#directory().admit(app.id, this.#identity!.shard, counts);
    } finally {
      const left = this.#admitting.get(address)! - 1;
      if (left > 0) this.#admitting.set(address, left);
      else this.#admitting.delete(address);
    }
  }

  /** This shard's connections, and those from `address`, admissions under way included. */
  #counts(address: string): ShardCounts {
    let admitting = 0;
    for (const count of this.#admitting.values()) admitting += count;
    return {
      total: this.#connections.size + admitting,
      address,
      fromAddress: (this.#byAddress.get(address) ?? 0) + (this.#admitting.get(address) ?? 0),
    };
  }

  #countAddress(address: string, change: 1 | -1): void {
    const count = (this.#byAddress.get(address) ?? 0) + change;
    if (count > 0) this.#byAddress.set(address, count);
    else this.#byAddress.delete(address);
  }

  #directory() {
    this.#directoryStub ??= directoryObject(this.env, this.#identity!.appId);
    return this.#directoryStub;
  }

  #channel(name: string): ChannelCalls {
    let stub = this.#channelStubs.get(name);
    if (!stub) {
      stub = channelObject(this.env, this.#identity!.appId, name) as unknown as ChannelCalls;
      // Stubs are cheap to recreate; keep the ones of channels with local sockets (call order per channel).
      if (this.#channelStubs.size > 10_000) this.#channelStubs.clear();
      this.#channelStubs.set(name, stub);
    }
    return stub;
  }

  #send(connection: Connection, text: string): void {
    try {
      connection.ws.send(text);
    } catch {
      // The socket is closing; its close handler cleans up.
    }
  }

  /** Closes a socket as Pusher does: a `pusher:error` with the code and reason first, then the close. */
  async #close(connection: Connection, code: number, reason: string): Promise<void> {
    this.#send(connection, frame.error(reason, code));
    closeSocket(connection.ws, code, reason);
    await this.#drop(connection.state.socketId);
  }

  #connectionOf(ws: WebSocket): Connection | undefined {
    const state = ws.deserializeAttachment() as ConnectionState | null;
    if (!state) return undefined;
    let connection = this.#connections.get(state.socketId);
    if (!connection) {
      connection = { ws, state };
      this.#connections.set(state.socketId, connection);
    }
    return connection;
  }

  /** Forgets a socket: leaves its channels and signs it out, wherever those objects are. */
  async #drop(socketId: string): Promise<void> {
    const connection = this.#connections.get(socketId);
    const known = this.#connections.delete(socketId);
    if (connection) this.#countAddress(connection.state.address, -1);
    const channels = this.#subscriptions.channelsOf(socketId);
    for (const channel of channels) this.#subscriptions.remove(channel, socketId);
    if (!this.#identity) return;
    const ctx = this.#context();
    await Promise.all([
      ...channels.map((channel) => this.#leave(channel, socketId)),
      // A failed sign-out stays recorded (signin.ts): the socket is then a vanished one, which the alarm drops again.
      signOut(ctx, socketId, this.#signIns).catch(async (error: unknown) => {
        this.#log.warn('sign-out failed; the alarm tries again', { socket_id: socketId, error: String(error) });
        await this.#scheduleAlarm();
      }),
    ]);
    if (!known || !connection) return;
    const counts = this.#counts(connection.state.address);
    if (ctx.app.shards === 1) this.#localAdmissions.report(0, counts);
    else this.ctx.waitUntil(this.#directory().report(ctx.shard, counts));
  }

  /** A leave through the channel's object; one the object fails is owed (or stays owed), and the alarm makes it again. */
  async #leave(channel: string, socketId: string): Promise<void> {
    try {
      await this.#channel(channel).leave({ appId: this.#identity!.appId, channel }, socketId);
      this.#subscriptions.settle(channel, socketId);
    } catch (error) {
      this.#log.warn('leave failed; the alarm tries again', { socket_id: socketId, channel, error: String(error) });
      this.#subscriptions.owe(channel, socketId);
      await this.#scheduleAlarm();
    }
  }

  /** Makes again the leaves channel objects failed; those that fail again stay owed. */
  async #makeOwedLeaves(): Promise<void> {
    if (!this.#identity) return;
    await Promise.all(this.#subscriptions.owed().map(({ channel, socketId }) => this.#leave(channel, socketId)));
  }

  /** Sockets with subscriptions or sign-ins here that are not open (gone while the object was away, or a failed sign-out). */
  #vanishedSockets(): string[] {
    const known = new Set([...this.#subscriptions.socketIds(), ...this.#signIns.socketIds()]);
    return [...known].filter((socketId) => !this.#connections.has(socketId));
  }

  /** Subscriptions and sign-ins of sockets that are gone (the object restarted) are left, with the usual events. */
  async #dropVanishedSockets(): Promise<void> {
    const vanished = this.#vanishedSockets();
    if (vanished.length === 0) return;
    this.#log.info('dropping subscriptions of vanished sockets', { count: vanished.length });
    await Promise.all(vanished.map((socketId) => this.#drop(socketId)));
  }

  /** Sets the alarm for the next activity check while sockets are open, or while a leave or sign-out is owed. */
  async #scheduleAlarm(replace = false): Promise<void> {
    if (this.#connections.size === 0 && this.#subscriptions.owed().length === 0 && this.#vanishedSockets().length === 0) return;
    const next = Date.now() + this.#app().activityTimeout * 1000;
    if (!replace && this.#alarmAt === undefined) this.#alarmAt = await this.ctx.storage.getAlarm();
    const current = replace ? null : this.#alarmAt;
    if (current === null || current === undefined || next < current) {
      this.#alarmAt = next;
      await this.ctx.storage.setAlarm(next);
    }
  }
}

function closeSocket(ws: WebSocket, code: number, reason: string): void {
  try {
    // A close reason is limited to 123 bytes.
    ws.close(code, reason.slice(0, 120));
  } catch {
    // Already closed.
  }
}
