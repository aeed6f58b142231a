/** The `pusher` broadcaster: Pusher Channels, or any Pusher-compatible host, through the official SDK. */
import Pusher from 'pusher';
import type { Config } from '../../config.ts';
import { chunks } from '../../data/chunks.ts';
import { BatchPublishError, type Broadcaster, BroadcastRefused, type PublishRequest } from '../broadcaster.ts';
import { channelNameProblem, eventNameProblem, Limits, pusherSocketId } from '../pusher-rules.ts';

// Pusher accepts at most 100 channels per trigger (larger fan-outs are split, as Laravel does) and
// 10 events, each on one channel, per batch trigger.
const { channelsPerEvent: CHANNELS_PER_TRIGGER, eventsPerBatch: EVENTS_PER_BATCH } = Limits;

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

  async publish(request: PublishRequest): Promise<void> {
    const problem = problemOf(request);
    if (problem) throw new BroadcastRefused(problem, 400);
    const { channels, name, data, socketId: given } = request;
    const socketId = pusherSocketId(given);
    for (const group of triggerGroups(channels)) {
      try {
        await this.#pusher.trigger(group, name, data, socketId ? { socket_id: socketId } : undefined);
      } catch (error) {
        throw pusherRefused(error, `${name} on ${group.join(', ')}`);
      }
    }
  }

  /**
   * `POST /apps/{id}/batch_events`, ten events (one channel each) per call. The events before the
   * first bad one are published; the bad one is refused, so the caller knows which.
   */
  async publishBatch(all: PublishRequest[]): Promise<void> {
    const bad = all.findIndex((request) => problemOf(request) !== null);
    if (bad === -1) return this.#publishBatch(all);
    await this.#publishBatch(all.slice(0, bad));
    throw new BatchPublishError(bad, new BroadcastRefused(problemOf(all[bad]!)!, 400));
  }

  async #publishBatch(requests: PublishRequest[]): Promise<void> {
    const events = requests.flatMap(({ channels, name, data, socketId: given }) => {
      const socketId = pusherSocketId(given);
      return channels.map((channel) => ({ channel, name, data, ...(socketId ? { socket_id: socketId } : {}) }));
    });
    // A request is published once the events of all its channels are: request i's end is the
    // number of events up to and including its own.
    let end = 0;
    const ends = requests.map((request) => (end += request.channels.length));
    let sent = 0;
    for (const group of chunks(events, EVENTS_PER_BATCH)) {
      try {
        await this.#pusher.triggerBatch(group);
      } catch (error) {
        throw new BatchPublishError(
          ends.filter((requestEnd) => requestEnd <= sent).length,
          pusherRefused(error, `a batch of ${group.length} events`),
        );
      }
      sent += group.length;
    }
  }
}

/**
 * The channels of one event as `trigger` calls take them: at most 100 each, and an end-to-end
 * encrypted channel alone (the SDK encrypts the data for that one channel's key, and refuses several
 * channels in a call that has one).
 */
function triggerGroups(channels: string[]): string[][] {
  const encrypted = channels.filter((channel) => channel.startsWith('private-encrypted-'));
  const plain = channels.filter((channel) => !channel.startsWith('private-encrypted-'));
  return [...chunks(plain, CHANNELS_PER_TRIGGER), ...encrypted.map((channel) => [channel])];
}

/**
 * What breaks Pusher's rules in an event, checked before sending: the SDK throws a plain Error, with
 * no status, for a channel or event name it will not send, which would read as "no answer" (retryable).
 */
function problemOf({ channels, name }: PublishRequest): string | null {
  return eventNameProblem(name) ?? channels.map((channel) => channelNameProblem(channel)).find((problem) => problem !== null) ?? null;
}

/** The SDK's RequestError carries the HTTP status and body but also the signed URL; keep only the former. */
function pusherRefused(error: unknown, what: string): BroadcastRefused {
  const { status, body } = error as { status?: number; body?: string };
  return new BroadcastRefused(`Pusher refused ${what}: ${status ?? 'no response'} ${body ?? String(error)}`.trim(), status ?? null);
}
