/** The `realtime` broadcaster: Tidings' own Pusher-compatible server, through its Durable Object binding. */
import { BatchPublishError, type Broadcaster, type PublishRequest } from '../broadcaster.ts';

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
