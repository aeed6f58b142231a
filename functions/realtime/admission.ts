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

/** The address of clients without CF-Connecting-IP (local setups): all of them count as one. */
export const UNKNOWN_ADDRESS = 'unknown';

/**
 * The address the per-address limits count a client under, from CF-Connecting-IP: an IPv4 address
 * as it is, an IPv6 address by its /64 prefix. One subscriber is given a whole /64 (2^64
 * addresses), so counting full IPv6 addresses would let one client take a fresh address for every
 * connection. An IPv4-mapped IPv6 address counts as its IPv4 address.
 */
export function clientAddress(connectingIp: string | null | undefined): string {
  const ip = connectingIp?.trim().toLowerCase();
  if (!ip) return UNKNOWN_ADDRESS;
  if (!ip.includes(':')) return ip.slice(0, 64);
  const groups = ipv6Groups(ip);
  if (!groups) return ip.slice(0, 64);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a trailing IPv4 part read), or null. */
function ipv6Groups(ip: string): number[] | null {
  const address = ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const halves = address.split('::');
  if (halves.length > 2) return null;
  const parse = (half: string): number[] | null => {
    if (half === '') return [];
    const groups: number[] = [];
    const parts = half.split(':');
    for (const [index, part] of parts.entries()) {
      if (index === parts.length - 1 && part.includes('.')) {
        const octets = part.split('.').map(Number);
        if (octets.length !== 4 || octets.some((octet) => !Number.isInteger(octet) || octet < 0 || octet > 255)) return null;
        groups.push((octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!);
      } else if (/^[0-9a-f]{1,4}$/.test(part)) groups.push(Number.parseInt(part, 16));
      else return null;
    }
    return groups;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  return [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
}

/** What a shard holds now (admitted connections included), for the connection being admitted. */
export interface ShardCounts {
  /** Connections on the shard. */
  total: number;
  /** The client address of the connection (CF-Connecting-IP). */
  address: string;
  /** Connections from that address on the shard. */
  fromAddress: number;
}

/** Everything a shard holds (admissions under way included), for a directory that lost its counts. */
export interface ShardCensus {
  total: number;
  /** Connections per client address. */
  byAddress: Array<{ address: string; count: number }>;
}

export type Admission = { admitted: true } | { admitted: false; code: number; reason: string };

type AppLimits = Pick<RealtimeApp, 'maxConnections' | 'maxConnectionsPerAddress' | 'newConnectionsPerAddressPerSecond'>;

export class Admissions {
  readonly #totals = new Map<number, number>();
  /** Connections per address, per shard. */
  readonly #byAddress = new Map<string, Map<number, number>>();
  readonly #rates = new Map<string, RateWindow>();
  /** During a recount: the shards, and shard/address pairs, reported since it began (newer than its answers). */
  #reportedDuringRecount: Set<string> | null = null;

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
    this.#reportedDuringRecount?.add(String(shard)).add(`${shard} ${counts.address}`);
    this.#totals.set(shard, counts.total);
    this.#setFromAddress(shard, counts.address, counts.fromAddress);
  }

  /** Starts a recount: reports from now on are newer than the censuses it collects. */
  beginRecount(): void {
    this.#reportedDuringRecount = new Set();
  }

  endRecount(): void {
    this.#reportedDuringRecount = null;
  }

  /** A shard's census during a recount, except what the shard reported since the recount began. */
  restore(shard: number, census: ShardCensus): void {
    const reported = this.#reportedDuringRecount;
    if (!reported?.has(String(shard))) this.#totals.set(shard, census.total);
    for (const { address, count } of census.byAddress) {
      if (!reported?.has(`${shard} ${address}`)) this.#setFromAddress(shard, address, count);
    }
  }

  /** Connections across the shards this knows. */
  total(): number {
    return this.#sum(this.#totals.values());
  }

  #setFromAddress(shard: number, address: string, fromAddress: number): void {
    let perShard = this.#byAddress.get(address);
    if (!perShard) {
      perShard = new Map();
      this.#byAddress.set(address, perShard);
    }
    if (fromAddress > 0) perShard.set(shard, fromAddress);
    else perShard.delete(shard);
    if (perShard.size === 0) this.#byAddress.delete(address);
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
