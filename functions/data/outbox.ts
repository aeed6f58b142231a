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

/** Queues failed (or undelivered) entries again from zero attempts, for the next cron run; says how many it queued. */
export async function replayEntries(db: SupabaseClient, ids: number[]): Promise<number> {
  return call<number>(db, 'tidings_replay', { entry_ids: ids }, 'replaying outbox entries');
}

/** One of the outbox's database functions (the client is untyped: the result's type is the function's, see the migration). */
async function call<T>(db: SupabaseClient, fn: string, args: Record<string, unknown>, what: string): Promise<T> {
  const result = (await db.rpc(fn, args)) as { data: T | null; error: PostgrestError | null };
  return unwrap(result, what);
}
