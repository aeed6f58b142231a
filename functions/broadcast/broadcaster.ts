/**
 * Broadcasters (Laravel's "drivers"): where a published event goes. Each takes the same request as
 * Pusher's `POST /apps/{id}/events` and the realtime server's `publish` RPC. The drivers are in drivers/.
 */

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

/**
 * The service behind a broadcaster refused an event, or could not be reached. `status` is its HTTP
 * status, null when it never answered. A 4xx will be refused again as it is (bad input, bad
 * credentials, over a limit); a 5xx, a 429 or no answer may pass later, when the redelivery cron
 * tries again.
 */
export class BroadcastRefused extends Error {
  override name = 'BroadcastRefused';
  readonly status: number | null;

  constructor(message: string, status: number | null, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }

  /** Whether trying again later may succeed (a server error, throttling, or no answer). */
  get retryable(): boolean {
    return this.status === null || this.status === 429 || this.status >= 500;
  }
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
