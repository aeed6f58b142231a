/**
 * Broadcasters (Laravel's "drivers"): where a published event goes. Each takes the same request as
 * Pusher's `POST /apps/{id}/events` and the realtime server's `publish` RPC.
 */
import Pusher from 'pusher';
import type { Config } from '../config.ts';

/** One event on one or more channels; `data` is the JSON text subscribers receive. */
export interface PublishRequest {
  channels: string[];
  name: string;
  data: string;
  /** The publisher's own connection, excluded from delivery (Laravel's `toOthers`). */
  socketId?: string;
}

export interface Broadcaster {
  publish(request: PublishRequest): Promise<void>;
}

/** Pusher accepts at most 100 channels per trigger; larger fan-outs are split, as Laravel does. */
const CHANNELS_PER_TRIGGER = 100;

function chunks<T>(items: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

/**
 * The official `pusher` SDK for this app's settings: hosted Pusher by cluster when PUSHER_HOST is
 * empty, otherwise any Pusher-compatible host (our realtime server, Reverb, soketi).
 * Also signs channel authorizations, whatever the broadcaster.
 */
export function pusherClient(config: Config): Pusher {
  const { appId, key, secret, host, port, useTLS, cluster, encryptionMasterKeyBase64 } = config.pusher;
  const base = { appId, key, secret, useTLS, ...(encryptionMasterKeyBase64 ? { encryptionMasterKeyBase64 } : {}) };
  return host ? new Pusher({ ...base, host, ...(port ? { port: String(port) } : {}) }) : new Pusher({ ...base, cluster });
}

/** `pusher`: publishes through Pusher's signed HTTP API with the official SDK. */
export class PusherBroadcaster implements Broadcaster {
  readonly #pusher: Pusher;
  constructor(pusher: Pusher) {
    this.#pusher = pusher;
  }

  async publish({ channels, name, data, socketId }: PublishRequest): Promise<void> {
    for (const group of chunks(channels, CHANNELS_PER_TRIGGER)) {
      try {
        await this.#pusher.trigger(group, name, data, socketId ? { socket_id: socketId } : undefined);
      } catch (error) {
        // The SDK's RequestError carries the HTTP status and body but also the signed URL; keep only the former.
        const { status, body } = error as { status?: number; body?: string };
        throw new Error(`Pusher refused ${name} on ${group.join(', ')}: ${status ?? 'no response'} ${body ?? String(error)}`.trim());
      }
    }
  }
}

/** What the `realtime` broadcaster needs from the realtime server's Durable Object stub. */
export interface RealtimePublisher {
  publish(request: PublishRequest): Promise<void>;
}

/** What the `realtime` broadcaster needs from the `REALTIME` binding. */
export interface RealtimeNamespace {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): RealtimePublisher;
}

/** `realtime`: our own Pusher-compatible server, through its Durable Object's `publish` RPC. */
export class RealtimeBroadcaster implements Broadcaster {
  readonly #server: RealtimePublisher;
  constructor(namespace: RealtimeNamespace, appId: string) {
    // One object per app (the contract with functions/realtime/server.ts).
    this.#server = namespace.get(namespace.idFromName(appId));
  }

  async publish(request: PublishRequest): Promise<void> {
    await this.#server.publish(request.socketId ? request : { channels: request.channels, name: request.name, data: request.data });
  }
}

/** `log`: writes each event to the Worker's log instead of sending it (development). */
export class LogBroadcaster implements Broadcaster {
  async publish({ channels, name, data, socketId }: PublishRequest): Promise<void> {
    console.log(JSON.stringify({ level: 'info', msg: 'broadcast', event: name, channels, socket_id: socketId, data }));
  }
}

/** `null`: discards every event. */
export class NullBroadcaster implements Broadcaster {
  async publish(): Promise<void> {}
}

/** The broadcaster BROADCAST_DRIVER names. */
export function broadcasterFor(config: Config, env: Pick<Env, 'REALTIME'>): Broadcaster {
  switch (config.broadcastDriver) {
    case 'pusher':
      return new PusherBroadcaster(pusherClient(config));
    case 'realtime':
      return new RealtimeBroadcaster(env.REALTIME, config.pusher.appId);
    case 'log':
      return new LogBroadcaster();
    case 'null':
      return new NullBroadcaster();
  }
}
