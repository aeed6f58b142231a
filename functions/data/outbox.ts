/**
 * The outbox (tidings.outbox, see the outbox migration) through the service role's database
 * functions: claims that lease entries to one deliverer and return the rows they name as the
 * database has them now, and one write that settles what a deliverer did.
 */
import type { PostgrestError, SupabaseClient } from '@supabase/supabase-js';
import { unwrap } from './client.ts';

/** An outbox entry as a claim returns it, with its row. */
export interface OutboxEntry {
  id: number;
  /** `public.emails`. */
  table_name: string;
  operation: 'INSERT' | 'UPDATE' | 'DELETE';
  row_id: string;
  /** UPDATE: the broadcast columns that changed. */
  changed_columns: string[] | null;
  created_at: string;
  /** Publishes tried, this claim's included (a claim counts one). */
  attempts: number;
  /** The row now (null when it is gone), or a DELETE's row as it was. */
  record: unknown;
}

/** What a deliverer did with the entries it claimed; see public.tidings_settle_outbox. */
export interface Settlement {
  /** Published, or nothing to publish. */
  delivered: number[];
  /** Its event cannot be built: never retried. */
  failed: Array<{ id: number; reason: string }>;
  /** Publishing failed: retried by the cron until its attempts reach the maximum. */
  retry: Array<{ id: number; error: string }>;
  /** Not tried (after a failure): handed back, the attempt its claim counted given back. */
  released: number[];
}

/** What the database recorded of a settlement. */
export interface Settled {
  delivered: number;
  failed: number;
  retried: number;
}

import type { CronRunRecord, DeliveryStatus } from './shapes.ts';

export type { CronRunRecord, DeliveryStatus, RedeliveryCounts } from './shapes.ts';

/** What delivery needs from the outbox. {@link supabaseOutbox} is the real one. */
export interface OutboxStore {
  /**
   * The named entries (and earlier pending ones of their rows) nobody holds, leased to the caller, by
   * id, each counting an attempt. One already claimed `maxAttempts` times is marked failed instead.
   */
  claim(ids: number[], maxAttempts: number): Promise<OutboxEntry[]>;
  /** Pending entries older than `graceSeconds`, oldest first, at most `limit`, leased to the caller as {@link claim} does. */
  claimDue(graceSeconds: number, limit: number, maxAttempts: number): Promise<OutboxEntry[]>;
  /** Records a settlement; a publish failing at the `maxAttempts`-th attempt marks its entry failed. */
  settle(settlement: Settlement, maxAttempts: number): Promise<Settled>;
}

/** How long a claim holds an entry: far longer than a Worker takes to publish a batch. */
export const LEASE_SECONDS = 60;

/** An empty settlement. */
export function emptySettlement(): Settlement {
  return { delivered: [], failed: [], retry: [], released: [] };
}

/** Whether a settlement records anything. */
export function isEmptySettlement(settlement: Settlement): boolean {
  return settlement.delivered.length + settlement.failed.length + settlement.retry.length + settlement.released.length === 0;
}

/** The {@link OutboxStore} on Supabase (the service role; the functions refuse anyone else). */
export function supabaseOutbox(db: SupabaseClient): OutboxStore {
  return {
    async claim(ids, maxAttempts) {
      if (ids.length === 0) return [];
      return call<OutboxEntry[]>(
        db,
        'tidings_claim_outbox',
        { outbox_ids: ids, lease_seconds: LEASE_SECONDS, max_attempts: maxAttempts },
        'claiming outbox entries',
      );
    },
    async claimDue(graceSeconds, limit, maxAttempts) {
      return call<OutboxEntry[]>(
        db,
        'tidings_claim_due',
        { grace_seconds: graceSeconds, max_entries: limit, lease_seconds: LEASE_SECONDS, max_attempts: maxAttempts },
        'claiming due outbox entries',
      );
    },
    async settle(settlement, maxAttempts) {
      if (isEmptySettlement(settlement)) return { delivered: 0, failed: 0, retried: 0 };
      return call<Settled>(db, 'tidings_settle_outbox', { outcome: settlement, max_attempts: maxAttempts }, 'settling outbox entries');
    },
  };
}

/** Records a cron run and prunes delivered entries older than `retentionHours`; says how many it pruned. */
export async function recordCronRun(db: SupabaseClient, run: CronRunRecord, retentionHours: number): Promise<number> {
  return call<number>(db, 'tidings_record_cron_run', { run, retention_hours: retentionHours }, 'recording a cron run');
}

/** The outbox's state for operators (GET /api/delivery). */
export async function deliveryStatus(db: SupabaseClient, failedLimit: number): Promise<DeliveryStatus> {
  return call<DeliveryStatus>(db, 'tidings_delivery_status', { failed_limit: failedLimit }, 'reading the delivery status');
}

/** Entries a replay named that cannot be replayed: nothing was replayed. */
export class ReplayRefusedError extends Error {
  override name = 'ReplayRefusedError';
  /** Ids that name no entry: mistyped, or delivered and deleted after the retention period. */
  readonly notFound: number[];
  /** Entries not failed: still pending (delivery or the cron sends them) or delivered. */
  readonly pending: number[];
  readonly delivered: number[];

  constructor(refused: { notFound: number[]; pending: number[]; delivered: number[] }) {
    const reasons = [
      refused.notFound.length > 0 && `no outbox entry has the ${plural(refused.notFound, 'id', 'ids')} ${refused.notFound.join(', ')}`,
      refused.pending.length > 0 &&
        `${plural(refused.pending, 'entry', 'entries')} ${refused.pending.join(', ')} ${plural(refused.pending, 'is', 'are')} still pending`,
      refused.delivered.length > 0 &&
        `${plural(refused.delivered, 'entry', 'entries')} ${refused.delivered.join(', ')} ${plural(refused.delivered, 'was', 'were')} delivered`,
    ].filter(Boolean);
    super(`Nothing was replayed (only failed entries can be): ${reasons.join('; ')}`);
    this.notFound = refused.notFound;
    this.pending = refused.pending;
    this.delivered = refused.delivered;
  }
}

function plural(items: unknown[], one: string, many: string): string {
  return items.length === 1 ? one : many;
}

/**
 * Queues failed entries again from zero attempts, for the next cron run, all of them or none; says
 * how many it queued.
 * @throws ReplayRefusedError naming the ids that name no entry or an entry that is not failed.
 */
export async function replayEntries(db: SupabaseClient, ids: number[]): Promise<number> {
  const result = await call<{ replayed: number; not_found: number[]; pending: number[]; delivered: number[] }>(
    db,
    'tidings_replay',
    { entry_ids: ids },
    'replaying outbox entries',
  );
  if (result.not_found.length + result.pending.length + result.delivered.length > 0) {
    throw new ReplayRefusedError({ notFound: result.not_found, pending: result.pending, delivered: result.delivered });
  }
  return result.replayed;
}

/** One of the outbox's database functions (the client is untyped: the result's type is the function's, see the migration). */
async function call<T>(db: SupabaseClient, fn: string, args: Record<string, unknown>, what: string): Promise<T> {
  const result = (await db.rpc(fn, args)) as { data: T | null; error: PostgrestError | null };
  return unwrap(result, what);
}
