import type { Broadcaster } from '../broadcaster.ts';

/** `null`: discards every event. */
export class NullBroadcaster implements Broadcaster {
  async publish(): Promise<void> {}
  async publishBatch(): Promise<void> {}
}
