/**
 * A broadcaster for tests, with assertions (Laravel's `Broadcast::fake()`): it records every
 * published event instead of sending it. Assertions throw an Error with a readable message, so they
 * work under any test runner.
 *
 * @example
 * const broadcasts = fakeBroadcasting();
 * await app.request('/webhooks/db', signedRequest);
 * broadcasts.assertBroadcast(EmailReceived, (email, channels) => email.subject === 'Hi' && channels.includes(`private-user.${id}`));
 * restoreBroadcasting();
 */
import { type Broadcaster, type PublishRequest, publishEach } from '../broadcaster.ts';

/** What an assertion can match on: the event's name (an event definition has one). */
interface Named<Payload> {
  readonly name: string;
  /** Present on event definitions; lets the predicate's payload type follow the event. */
  readonly schema?: { parse(data: unknown): Payload };
}

/** A recorded publish, with its data parsed back from JSON. */
export interface RecordedBroadcast {
  name: string;
  channels: string[];
  data: unknown;
  socketId: string | undefined;
}

type Predicate<Payload> = (data: Payload, channels: string[], broadcast: RecordedBroadcast) => boolean;

function describe(broadcasts: RecordedBroadcast[]): string {
  if (broadcasts.length === 0) return 'nothing was broadcast';
  return `broadcast were: ${broadcasts.map((b) => `${b.name} on ${b.channels.join(', ')}`).join('; ')}`;
}

/** A broadcaster that records instead of sending, with Laravel's `Broadcast::fake()` assertions. */
export class BroadcastFake implements Broadcaster {
  readonly #broadcasts: RecordedBroadcast[] = [];

  async publish({ channels, name, data, socketId }: PublishRequest): Promise<void> {
    this.#broadcasts.push({ name, channels: [...channels], data: JSON.parse(data), socketId });
  }

  publishBatch(requests: PublishRequest[]): Promise<void> {
    return publishEach(requests, (request) => this.publish(request));
  }

  /** Every recorded broadcast of `event` that matches `predicate` (all of them without one). */
  broadcasted<Payload>(event: Named<Payload>, predicate?: Predicate<Payload>): RecordedBroadcast[] {
    return this.#broadcasts.filter((b) => b.name === event.name && (!predicate || predicate(b.data as Payload, b.channels, b)));
  }

  /** Every recorded broadcast, in order. */
  all(): RecordedBroadcast[] {
    return [...this.#broadcasts];
  }

  /** Asserts `event` was broadcast at least once (matching `predicate` when given). */
  assertBroadcast<Payload>(event: Named<Payload>, predicate?: Predicate<Payload>): void {
    if (this.broadcasted(event, predicate).length === 0) {
      throw new Error(
        `Expected ${event.name} to be broadcast${predicate ? ' matching the predicate' : ''}, but ${describe(this.#broadcasts)}`,
      );
    }
  }

  /** Asserts `event` was broadcast exactly `times` times. */
  assertBroadcastTimes(event: Named<unknown>, times: number): void {
    const count = this.broadcasted(event).length;
    if (count !== times) throw new Error(`Expected ${event.name} to be broadcast ${times} time(s), but it was broadcast ${count} time(s)`);
  }

  /** Asserts `event` was broadcast on `channel`. */
  assertBroadcastOn(channel: string, event: Named<unknown>): void {
    if (this.broadcasted(event, (_data, channels) => channels.includes(channel)).length === 0) {
      throw new Error(`Expected ${event.name} to be broadcast on ${channel}, but ${describe(this.#broadcasts)}`);
    }
  }

  /** Asserts `event` was broadcast to others only, excluding `socketId` (Laravel's `toOthers`). */
  assertBroadcastToOthers(event: Named<unknown>, socketId: string): void {
    if (this.broadcasted(event, (_data, _channels, b) => b.socketId === socketId).length === 0) {
      throw new Error(`Expected ${event.name} to be broadcast excluding socket ${socketId}, but ${describe(this.#broadcasts)}`);
    }
  }

  /** Asserts no broadcast of `event` matched `predicate` (none at all without one). */
  assertNotBroadcast<Payload>(event: Named<Payload>, predicate?: Predicate<Payload>): void {
    const found = this.broadcasted(event, predicate);
    if (found.length > 0) {
      throw new Error(
        `Expected ${event.name} not to be broadcast${predicate ? ' matching the predicate' : ''}, but it was broadcast ${found.length} time(s)`,
      );
    }
  }

  /** Asserts nothing at all was broadcast. */
  assertNothingBroadcast(): void {
    if (this.#broadcasts.length > 0) throw new Error(`Expected nothing to be broadcast, but ${describe(this.#broadcasts)}`);
  }
}
