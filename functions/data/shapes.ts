/**
 * The API's row shapes, shared with web/ (type-only, no imports, browser-safe), so a change on
 * either side fails the type check instead of drifting.
 */

/** An email as the API returns it. */
export interface Email {
  id: string;
  sender_id: string;
  sender_name: string;
  recipient_id: string;
  subject: string;
  body: string;
  created_at: string;
  read_at: string | null;
}

/** A user's public profile (the API's `user` shape). */
export interface Profile {
  id: string;
  email: string;
  display_name: string;
  role: 'admin' | 'user';
}

/** An admin announcement as the API returns it. */
export interface Announcement {
  id: string;
  sender_id: string;
  title: string;
  body: string;
  created_at: string;
}

/** What one redelivery run did. */
export interface RedeliveryCounts {
  /** Entries claimed. */
  claimed: number;
  published: number;
  /** Delivered with nothing to publish (the row is gone, or the model declares no event). */
  skipped: number;
  /** Marked failed: their event cannot be built, or their publishing failed the maximum number of times. */
  failed: number;
  /** Publishing failed; tried again by a later run. */
  retried: number;
  /** Whether a next run has work: a batch came back full, or publishing failed. */
  remaining: boolean;
}

/** A redelivery cron run as tidings.cron_runs keeps it. */
export interface CronRunRecord extends RedeliveryCounts {
  started_at: string;
  error: string | null;
}

/** The delivery report of GET /api/delivery. */
export interface DeliveryStatus {
  undelivered: number;
  oldest_undelivered_at: string | null;
  failed_count: number;
  failed: Array<{
    id: number;
    table: string;
    operation: string;
    row_id: string;
    attempts: number;
    created_at: string;
    failed_at: string;
    reason: string;
  }>;
  last_cron_run: (Omit<CronRunRecord, 'started_at'> & { started_at: string; finished_at: string; pruned: number }) | null;
}
