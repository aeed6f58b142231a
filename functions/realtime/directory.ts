/**
 * An app's directory: how many connections each of its shards holds, so REALTIME_MAX_CONNECTIONS
 * stays one app-wide limit however many shards there are. Shards report absolute counts, never
 * increments, so a lost report is corrected by the next one. With one shard it is not used: the
 * shard counts its own sockets.
 */
import { DurableObject } from 'cloudflare:workers';
import { loadApps } from './apps.ts';

export class RealtimeDirectory extends DurableObject<Env> {
  readonly #counts = new Map<number, number>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec('create table if not exists shard_connections (shard integer primary key, connections integer not null)');
    for (const row of ctx.storage.sql.exec<{ shard: number; connections: number }>('select shard, connections from shard_connections')) {
      this.#counts.set(row.shard, row.connections);
    }
  }

  /** Admits one more connection on `shard`, which holds `current` now, if the app is under its limit. */
  async admit(appId: string, shard: number, current: number): Promise<boolean> {
    const app = loadApps(this.env).byId(appId);
    if (!app) return false;
    this.#set(shard, current);
    if (this.#total() >= app.maxConnections) return false;
    this.#set(shard, current + 1);
    return true;
  }

  /** A shard's connection count after a socket closed. */
  async report(appId: string, shard: number, current: number): Promise<void> {
    if (loadApps(this.env).byId(appId)) this.#set(shard, current);
  }

  /** Connections across every shard. */
  async total(): Promise<number> {
    return this.#total();
  }

  #total(): number {
    let total = 0;
    for (const count of this.#counts.values()) total += count;
    return total;
  }

  #set(shard: number, connections: number): void {
    if (this.#counts.get(shard) === connections) return;
    this.#counts.set(shard, connections);
    this.ctx.storage.sql.exec('insert or replace into shard_connections (shard, connections) values (?, ?)', shard, connections);
  }
}
