/**
 * An app's directory: the connection counts of all its shards (see admission.ts), so
 * REALTIME_MAX_CONNECTIONS and the per-address limits hold app-wide however many shards there are.
 * With one shard it is not used: the shard counts its own sockets. The counts are kept in memory:
 * after an eviction each shard's next report or admission restores its own.
 */
import { DurableObject } from 'cloudflare:workers';
import { type Admission, Admissions, type ShardCounts } from './admission.ts';
import { loadApps } from './apps.ts';

export class RealtimeDirectory extends DurableObject<Env> {
  readonly #admissions = new Admissions();

  /** Admits one more connection on `shard` if the app's limits allow it. */
  async admit(appId: string, shard: number, counts: ShardCounts): Promise<Admission> {
    const app = loadApps(this.env).byId(appId);
    if (!app) return { admitted: false, code: 4001, reason: `App '${appId}' does not exist` };
    return this.#admissions.admit(app, shard, counts, Date.now());
  }

  /** A shard's counts after a socket closed. */
  async report(shard: number, counts: ShardCounts): Promise<void> {
    this.#admissions.report(shard, counts);
  }
}
