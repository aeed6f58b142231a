/**
 * Broadcasters (Laravel's "drivers"): where a published event goes. Each takes the same request as
 * Pusher's `POST /apps/{id}/events` and the realtime server's `publish` RPC.
 */
import Pusher from 'pusher';
import type { Config } from '../config.ts';
import { chunks } from '../chunks.ts';

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
  /**
   * Publishes several events in order, in as few calls as the broadcaster allows.
   * @throws BatchPublishError saying how many of `requests` were published before the failure.
   */
  publishBatch(requests: PublishRequest[]): Promise<void>;
}

/** A batch publish stopped part-way: the first `published` requests went out, the rest did not. */
export class BatchPublishError extends Error {
  override name = 'BatchPublishError';
  readonly published: number;

  constructor(published: number, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.published = published;
  }
}

/**
 * {@link Broadcaster.publishBatch} for broadcasters with no batch call: one `publish` after another,
 * stopping at the first failure with a {@link BatchPublishError} that counts what went out.
 */
export async function publishEach<T>(items: readonly T[], publish: (item: T) => Promise<void>): Promise<void> {
  for (const [index, item] of items.entries()) {
    try {
      await publish(item);
    } catch (error) {
      throw new BatchPublishError(index, error);
    }
  }
}

/** Pusher accepts at most 100 channels per trigger; larger fan-outs are split, as Laravel does. */
const CHANNELS_PER_TRIGGER = 100;
/** Pusher's batch trigger takes at most 10 events, each on one channel. */
const EVENTS_PER_BATCH = 10;

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
        throw pusherRefused(error, `${name} on ${group.join(', ')}`);
      }
    }
  }

  /** `POST /apps/{id}/batch_events`, ten events (one channel each) per call. */
  async publishBatch(requests: PublishRequest[]): Promise<void> {
    const events = requests.flatMap(({ channels, name, data, socketId }) =>
      channels.map((channel) => ({ channel, name, data, ...(socketId ? { socket_id: socketId } : {}) })));
    // A request is published once the events of all its channels are: request i's end is the
    // number of events up to and including its own.
    let end = 0;
    const ends = requests.map((request) => (end += request.channels.length));
    let sent = 0;
    for (const group of chunks(events, EVENTS_PER_BATCH)) {
      try {
        await this.#pusher.triggerBatch(group);
      } catch (error) {
        throw new BatchPublishError(ends.filter((requestEnd) => requestEnd <= sent).length, pusherRefused(error, `a batch of ${group.length} events`));
      }
      sent += group.length;
    }
  }
}

/** The SDK's RequestError carries the HTTP status and body but also the signed URL; keep only the former. */
function pusherRefused(error: unknown, what: string): Error {
  const { status, body } = error as { status?: number; body?: string };
  return new Error(`Pusher refused ${what}: ${status ?? 'no response'} ${body ?? String(error)}`.trim());
}

/** What the `realtime` broadcaster needs from the realtime server's Durable Object stub. */
export interface RealtimePublisher {
  publish(request: PublishRequest): Promise<void>;
  /** Checks every request, then publishes them all in order (all or none). */
  trigger(requests: PublishRequest[]): Promise<unknown>;
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
    await this.#server.publish(withoutEmptySocketId(request));
  }

  /** One RPC for the whole batch: the object checks every event first, so it publishes all or none. */
  async publishBatch(requests: PublishRequest[]): Promise<void> {
    if (requests.length === 0) return;
    try {
      await this.#server.trigger(requests.map(withoutEmptySocketId));
    } catch (error) {
      throw new BatchPublishError(0, error);
    }
  }
}

function withoutEmptySocketId(request: PublishRequest): PublishRequest {
  return request.socketId ? request : { channels: request.channels, name: request.name, data: request.data };
}

/** `log`: writes each event to the Worker's log instead of sending it (development). */
export class LogBroadcaster implements Broadcaster {
  async publish({ channels, name, data, socketId }: PublishRequest): Promise<void> {
    console.log(JSON.stringify({ level: 'info', msg: 'broadcast', event: name, channels, socket_id: socketId, data }));
  }

  publishBatch(requests: PublishRequest[]): Promise<void> {
    return publishEach(requests, (request) => this.publish(request));
  }
}

/** `null`: discards every event. */
export class NullBroadcaster implements Broadcaster {
  async publish(): Promise<void> {}
  async publishBatch(): Promise<void> {}
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
