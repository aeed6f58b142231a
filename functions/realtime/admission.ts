/**
 * Who may open a connection: the app-wide limit (REALTIME_MAX_CONNECTIONS), a limit per client
 * address, and a limit on new connections per address per second, so nobody holding the public app
 * key can take every connection. The counts live where every shard can see them: in the shard
 * itself when the app has one, in the app's directory when it has several. Shards report absolute
 * counts, never increments, so a lost report is corrected by the next one.
 */
import type { RealtimeApp } from './apps.ts';
import { CloseCode } from './frames.ts';
import { type RateWindow, takeInSecond } from './rate-limits.ts';

/** What a shard holds now (admitted connections included), for the connection being admitted. */
export interface ShardCounts {
  /** Connections on the shard. */
  total: number;
  /** The client address of the connection (CF-Connecting-IP). */
  address: string;
  /** Connections from that address on the shard. */
  fromAddress: number;
}

export type Admission = { admitted: true } | { admitted: false; code: number; reason: string };

type AppLimits = Pick<RealtimeApp, 'maxConnections' | 'maxConnectionsPerAddress' | 'newConnectionsPerAddressPerSecond'>;

export class Admissions {
  readonly #totals = new Map<number, number>();
  /** Connections per address, per shard. */
  readonly #byAddress = new Map<string, Map<number, number>>();
  readonly #rates = new Map<string, RateWindow>();

  /** Admits one more connection on `shard` if every limit allows it, counting it. */
  admit(app: AppLimits, shard: number, counts: ShardCounts, now: number): Admission {
    this.report(shard, counts);
    const rate = this.#rates.get(counts.address) ?? { second: 0, count: 0 };
    this.#rates.set(counts.address, rate);
    if (this.#rates.size > 10_000) this.#forgetOldRates(now);
    if (takeInSecond(rate, now, app.newConnectionsPerAddressPerSecond) !== 'allow') {
      return {
        admitted: false,
        code: CloseCode.overCapacity,
        reason: `Too many new connections from one address: at most ${app.newConnectionsPerAddressPerSecond} a second (REALTIME_NEW_CONNECTIONS_PER_ADDRESS_PER_SECOND); try again shortly`,
      };
    }
    if (this.#sum(this.#totals.values()) >= app.maxConnections) {
      return {
        admitted: false,
        code: CloseCode.overConnectionQuota,
        reason: `Over the connection quota of ${app.maxConnections} (REALTIME_MAX_CONNECTIONS)`,
      };
    }
    if (this.#sum(this.#byAddress.get(counts.address)?.values() ?? []) >= app.maxConnectionsPerAddress) {
      return {
        admitted: false,
        code: CloseCode.overConnectionQuota,
        reason: `Over the limit of ${app.maxConnectionsPerAddress} connections from one address (REALTIME_MAX_CONNECTIONS_PER_ADDRESS)`,
      };
    }
    this.report(shard, { ...counts, total: counts.total + 1, fromAddress: counts.fromAddress + 1 });
    return { admitted: true };
  }

  /** A shard's counts after a connection opened or closed. */
  report(shard: number, counts: ShardCounts): void {
    this.#totals.set(shard, counts.total);
    let perShard = this.#byAddress.get(counts.address);
    if (!perShard) {
      perShard = new Map();
      this.#byAddress.set(counts.address, perShard);
    }
    if (counts.fromAddress > 0) perShard.set(shard, counts.fromAddress);
    else perShard.delete(shard);
    if (perShard.size === 0) this.#byAddress.delete(counts.address);
  }

  /** Connections across the shards this knows. */
  total(): number {
    return this.#sum(this.#totals.values());
  }

  #sum(values: Iterable<number>): number {
    let total = 0;
    for (const value of values) total += value;
    return total;
  }

  #forgetOldRates(now: number): void {
    const second = Math.floor(now / 1000);
    for (const [address, window] of this.#rates) if (window.second < second) this.#rates.delete(address);
  }
}
