/**
 * An app's directory: the connection counts of all its shards (see admission.ts), so
 * REALTIME_MAX_CONNECTIONS and the per-address limits hold app-wide however many shards there are.
 * With one shard it is not used: the shard counts its own sockets. The counts are kept in memory,
 * so a new instance (after an eviction or a restart) knows nothing: before its first admission it
 * asks every shard for its counts, and until a shard has answered it asks that one again.
 */
import { DurableObject } from 'cloudflare:workers';
import { createLogger } from '../log.ts';
import { type Admission, Admissions, type ShardCensus, type ShardCounts } from './admission.ts';
import { loadApps, type RealtimeApp } from './apps.ts';
import { shardObject } from './placement.ts';

export class RealtimeDirectory extends DurableObject<Env> {
  readonly #admissions = new Admissions();
  /** Shards whose counts this instance has not heard yet; null until the app's shard count is known. */
  #uncounted: Set<number> | null = null;
  /** The recount under way, which every admission waits for. */
  #recounting: Promise<void> | null = null;

  /** Admits one more connection on `shard` if the app's limits allow it. */
  async admit(appId: string, shard: number, counts: ShardCounts): Promise<Admission> {
    const app = loadApps(this.env).byId(appId);
    if (!app) return { admitted: false, code: 4001, reason: `App '${appId}' does not exist` };
    await this.#recount(app);
    return this.#admissions.admit(app, shard, counts, Date.now());
  }

  /** A shard's counts after a socket closed. */
  async report(shard: number, counts: ShardCounts): Promise<void> {
    this.#admissions.report(shard, counts);
  }

  /**
   * Asks the shards not heard yet for their counts, in parallel. A shard's report that arrives
   * meanwhile is newer than its census answer, so the answer only fills what the reports left out.
   * A shard that cannot answer is asked again at the next admission.
   */
  #recount(app: RealtimeApp): Promise<void> {
    this.#uncounted ??= new Set(Array.from({ length: app.shards }, (_, index) => index));
    if (this.#uncounted.size === 0) return Promise.resolve();
    this.#recounting ??= (async () => {
      this.#admissions.beginRecount();
      await Promise.all(
        [...this.#uncounted!].map(async (shard) => {
          let census: ShardCensus;
          try {
            census = await shardObject(this.env, app.id, shard).census();
          } catch (error) {
            createLogger(this.env.LOG_LEVEL, { component: 'realtime' }).warn('shard did not report its counts', {
              app_id: app.id,
              shard,
              error: String(error),
            });
            return;
          }
          this.#admissions.restore(shard, census);
          this.#uncounted!.delete(shard);
        }),
      );
    })().finally(() => {
      this.#admissions.endRecount();
      this.#recounting = null;
    });
    return this.#recounting;
  }
}
