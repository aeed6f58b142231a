import PusherServer from 'pusher';
import Pusher, { type Members } from 'pusher-js';
import WebSocket from 'ws';
import { shardOfSocketId } from '../../../functions/realtime/frames.ts';
import { FrameLog } from '../pusher-frames.ts';
import { readDevVars } from './dev-vars.ts';
import type { RunningWorker } from './worker.ts';

/** The realtime app's credentials the tests use (the development values). */
export interface AppCredentials {
  id: string;
  key: string;
  secret: string;
}

/** The default app from .dev.vars.example. */
export function defaultApp(): AppCredentials {
  const vars = readDevVars();
  return { id: vars.PUSHER_APP_ID!, key: vars.PUSHER_APP_KEY!, secret: vars.PUSHER_APP_SECRET! };
}

/** The official server SDK, pointed at the Worker by host and port only. */
export function serverSdk(worker: RunningWorker, app: AppCredentials = defaultApp()): PusherServer {
  return new PusherServer({
    appId: app.id,
    key: app.key,
    secret: app.secret,
    host: '127.0.0.1',
    port: String(worker.port),
    useTLS: false,
    // End-to-end encryption for private-encrypted- channels; the realtime server never sees this key.
    encryptionMasterKeyBase64: Buffer.alloc(32, 7).toString('base64'),
  });
}

/** Who a pusher-js client is, for channel and user authorization. */
export interface Identity {
  id: string;
  info?: Record<string, unknown>;
}

/**
 * The official pusher-js (Node build), pointed at the Worker by host, port and TLS only. Channel
 * authorization and user authentication are signed by the official server SDK, as an app's
 * `/broadcasting/auth` would do.
 */
export function pusherClient(
  worker: RunningWorker,
  options: { app?: AppCredentials; identity?: Identity; forgeChannelAuth?: boolean } = {},
): Pusher {
  const app = options.app ?? defaultApp();
  const sdk = serverSdk(worker, app);
  const identity = options.identity ?? { id: 'anonymous' };
  return new Pusher(app.key, {
    ...onLoopback(worker.port),
    channelAuthorization: {
      endpoint: '/unused',
      transport: 'ajax',
      customHandler: ({ socketId, channelName }, callback) => {
        const presence = channelName.startsWith('presence-') ? { user_id: identity.id, user_info: identity.info ?? {} } : undefined;
        // A forger presents a signature made for another socket.
        callback(null, sdk.authorizeChannel(options.forgeChannelAuth ? '1.1' : socketId, channelName, presence));
      },
    },
    userAuthentication: {
      endpoint: '/unused',
      transport: 'ajax',
      customHandler: ({ socketId }, callback) => {
        callback(null, sdk.authenticateUser(socketId, { id: identity.id, ...identity.info }));
      },
    },
  });
}

/**
 * pusher-js as the web client configures it against a Worker with the `realtime` broadcaster: the
 * Worker's host and port, channels authorized at its /broadcasting/auth with a user's Supabase token.
 */
export function userPusher(worker: { url: string; port: number }, token: string, key: string = defaultApp().key): Pusher {
  return new Pusher(key, {
    ...onLoopback(worker.port),
    channelAuthorization: { endpoint: `${worker.url}/broadcasting/auth`, transport: 'ajax', headers: { Authorization: `Bearer ${token}` } },
  });
}

/** pusher-js (and Laravel Echo) options for a server on 127.0.0.1:`port` without TLS: WebSocket only, no stats sent anywhere. */
export function onLoopback(port: number) {
  return { cluster: 'mt1', wsHost: '127.0.0.1', wsPort: port, forceTLS: false, enabledTransports: ['ws' as const], disableStats: true };
}

/** Resolves when a pusher-js client is connected; rejects on failure or timeout. */
export function connected(client: Pusher, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    if (client.connection.state === 'connected') return resolve(client.connection.socket_id);
    const timer = setTimeout(() => reject(new Error(`pusher-js stayed '${client.connection.state}'`)), timeoutMs);
    client.connection.bind('connected', () => {
      clearTimeout(timer);
      resolve(client.connection.socket_id);
    });
  });
}

/** The realtime suite's connection shards: TEST_REALTIME_SHARDS of its 8-shard run (vitest.config.ts), else 1. */
export const testShards = Number(process.env.TEST_REALTIME_SHARDS ?? '1');

/**
 * One connected client per maker, on pairwise different shards when the run has that many. Placement
 * is random and a socket id names its shard, so this connects again (disconnecting the extra
 * clients) until each client sits on a shard none of the others does.
 */
export async function onDistinctShards<Makers extends Array<() => Pusher>>(makers: [...Makers]): Promise<{ [K in keyof Makers]: Pusher }> {
  const used = new Set<number>();
  const chosen: Pusher[] = [];
  for (const make of makers) {
    for (let attempt = 0; ; attempt++) {
      if (attempt === 100) throw new Error(`Could not place ${makers.length} clients on distinct shards of ${testShards}`);
      const client = make();
      const shard = shardOfSocketId(await connected(client));
      if (testShards >= makers.length && used.has(shard)) {
        client.disconnect();
        continue;
      }
      used.add(shard);
      chosen.push(client);
      break;
    }
  }
  return chosen as { [K in keyof Makers]: Pusher };
}

/**
 * Subscribes and resolves with what pusher-js hands to `pusher:subscription_succeeded` (the channel's
 * Members on a presence channel); rejects on subscription_error.
 */
export function subscribed(client: Pusher, channelName: `presence-${string}`, timeoutMs?: number): Promise<Members>;
export function subscribed(client: Pusher, channelName: string, timeoutMs?: number): Promise<unknown>;
export function subscribed(client: Pusher, channelName: string, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const channel = client.subscribe(channelName);
    const timer = setTimeout(() => reject(new Error(`no subscription result for ${channelName}`)), timeoutMs);
    channel.bind('pusher:subscription_succeeded', (data: unknown) => {
      clearTimeout(timer);
      resolve(data);
    });
    channel.bind('pusher:subscription_error', (error: unknown) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`subscription_error on ${channelName}`), { detail: error }));
    });
  });
}

/** The next `event` on the channel (subscribing if needed); `T` is what the caller expects, unchecked. */
export function nextEvent<T = unknown>(client: Pusher, channelName: string, event: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const channel = client.channel(channelName) ?? client.subscribe(channelName);
    const timer = setTimeout(() => reject(new Error(`no '${event}' on ${channelName}`)), timeoutMs);
    // pusher-js passes metadata ({user_id} for client events on presence channels) as a second argument.
    const handler = (data: unknown, metadata?: Record<string, unknown>) => {
      clearTimeout(timer);
      channel.unbind(event, handler);
      resolve((metadata && Object.keys(metadata).length > 0 ? { data, metadata } : data) as T);
    };
    channel.bind(event, handler);
  });
}

/** A raw `ws` socket for exact frames and close codes (see {@link FrameLog}). */
export class RawSocket extends FrameLog {
  readonly ws: WebSocket;

  constructor(url: string) {
    super();
    this.ws = new WebSocket(url);
    this.ws.on('message', (data, isBinary) => this.received(isBinary ? '<binary>' : data.toString()));
    this.ws.on('close', (code, reason) => this.closedWith(code, reason.toString()));
    this.ws.on('error', () => this.wake());
  }

  /** Opens `/app/{key}` on the Worker with protocol 7 (or the given query). */
  static async open(
    worker: RunningWorker,
    key = defaultApp().key,
    query = 'protocol=7&client=js&version=8.6.0&flash=false',
  ): Promise<RawSocket> {
    const socket = new RawSocket(`ws://127.0.0.1:${worker.port}/app/${key}?${query}`);
    await new Promise<void>((resolve, reject) => {
      socket.ws.once('open', () => resolve());
      socket.ws.once('error', reject);
    });
    return socket;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  close(): void {
    this.ws.close();
  }
}
