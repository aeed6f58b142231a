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
 * Statuses that say the event itself is wrong (a bad name or channel, data too large): sent again
 * as it is, it would be refused again. Any other refusal may pass later: a 5xx, a 429 or no answer
 * once the service is back, and a 401, 403 or 404 (a wrong key, secret or app id, an app disabled
 * or over its quota) once the deployment's settings or account are fixed, as the redelivery cron
 * tries the entries again up to OUTBOX_MAX_ATTEMPTS.
 */
export const EVENT_REFUSED_STATUSES: ReadonlySet<number> = new Set([400, 413, 414, 422]);

/** Whether a refusal with this HTTP status (null: no answer) may pass when tried again; see {@link EVENT_REFUSED_STATUSES}. */
export function retryableStatus(status: number | null): boolean {
  return status === null || !EVENT_REFUSED_STATUSES.has(status);
}

/**
 * The service behind a broadcaster refused an event, or could not be reached. `status` is its HTTP
 * status, null when it never answered; {@link retryable} says whether the cron should try again.
 */
export class BroadcastRefused extends Error {
  override name = 'BroadcastRefused';
  readonly status: number | null;

  constructor(message: string, status: number | null, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }

  /** Whether trying again later may succeed: anything but a refusal of the event itself (see {@link EVENT_REFUSED_STATUSES}). */
  get retryable(): boolean {
    return retryableStatus(this.status);
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
