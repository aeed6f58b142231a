/** The `realtime` broadcaster: Tidings' own Pusher-compatible server, through its Durable Object bindings. */
import { loadApps } from '../../realtime/apps.ts';
import type { RealtimeBindings } from '../../realtime/placement.ts';
import { publishEvents, validatePublish } from '../../realtime/publishing.ts';
import { BatchPublishError, type Broadcaster, type PublishRequest } from '../broadcaster.ts';
import { pusherSocketId } from '../pusher-rules.ts';

/** Publishes checked events in order on the realtime server (see realtime/publishing.ts). */
export type RealtimePublish = (requests: PublishRequest[]) => Promise<unknown>;

/** The realtime server's publish for an app, through the Worker's bindings. */
export function realtimePublish(env: RealtimeBindings, appId: string): RealtimePublish {
  return (requests) => {
    const app = loadApps(env).byId(appId);
    if (!app) throw new Error(`No realtime app has the id '${appId}' (PUSHER_APP_ID): add it to REALTIME_APPS or fix PUSHER_APP_ID`);
    return publishEvents(env, app, requests);
  };
}

/** `realtime`: our own Pusher-compatible server; every event is checked against Pusher's limits first. */
export class RealtimeBroadcaster implements Broadcaster {
  readonly #publish: RealtimePublish;
  constructor(publish: RealtimePublish) {
    this.#publish = publish;
  }

  async publish(request: PublishRequest): Promise<void> {
    await this.#publish([validatePublish(withoutEmptySocketId(request))]);
  }

  /** Publishes the events before the first invalid one; the invalid one is refused, so the caller knows which. */
  async publishBatch(requests: PublishRequest[]): Promise<void> {
    if (requests.length === 0) return;
    const valid: PublishRequest[] = [];
    let invalid: unknown = null;
    for (const request of requests) {
      try {
        valid.push(validatePublish(withoutEmptySocketId(request)));
      } catch (error) {
        invalid = error;
        break;
      }
    }
    try {
      if (valid.length > 0) await this.#publish(valid);
    } catch (error) {
      throw new BatchPublishError(0, error);
    }
    if (invalid !== null) throw new BatchPublishError(valid.length, invalid);
  }
}

/** Leaves out an empty socket id, or one of another kind (Ably's), which names no connection here. */
function withoutEmptySocketId(request: PublishRequest): PublishRequest {
  return pusherSocketId(request.socketId) ? request : { channels: request.channels, name: request.name, data: request.data };
}
