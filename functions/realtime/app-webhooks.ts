import { byteLength } from '../broadcast/pusher-rules.ts';
import type { Logger } from '../log.ts';
import type { RealtimeApp } from './apps.ts';
import { webhookSignature } from './signatures.ts';

/** One event of a webhook body, as Pusher documents it. */
export type WebhookEvent =
  | { name: 'channel_occupied' | 'channel_vacated' | 'cache_miss'; channel: string }
  | { name: 'member_added' | 'member_removed'; channel: string; user_id: string }
  | { name: 'subscription_count'; channel: string; subscription_count: number }
  | { name: 'client_event'; channel: string; event: string; data: string; socket_id: string; user_id?: string };

/** Webhooks are retried for this long after the first attempt, then dropped (logged as an error). */
export const WEBHOOK_RETRY_WINDOW_MS = 5 * 60 * 1000;
const MAX_BACKOFF_MS = 60 * 1000;
const DELIVERY_TIMEOUT_MS = 10 * 1000;

/** At most this many events per POST, and about this many bytes of them (a burst is several POSTs). */
export const MAX_EVENTS_PER_WEBHOOK = 100;
export const MAX_WEBHOOK_BYTES = 256 * 1024;
/** Events taken from the queue per alarm; the rest go out on the next one, due at once. */
const MAX_EVENTS_PER_ALARM = 1000;

/**
 * Groups events (JSON texts, in order) into webhook bodies of at most {@link MAX_EVENTS_PER_WEBHOOK}
 * events and about {@link MAX_WEBHOOK_BYTES}, so a burst never becomes one body too large to keep
 * (a SQLite row holds 2 MB) or for a receiver to take.
 */
export function webhookBodies(events: string[]): string[][] {
  const bodies: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const event of events) {
    // UTF-8 bytes, not string length: text outside ASCII takes up to 3 bytes a character.
    const size = byteLength(event);
    if (current.length > 0 && (current.length >= MAX_EVENTS_PER_WEBHOOK || bytes + size > MAX_WEBHOOK_BYTES)) {
      bodies.push(current);
      current = [];
      bytes = 0;
    }
    current.push(event);
    bytes += size;
  }
  if (current.length > 0) bodies.push(current);
  return bodies;
}

/** The wait before retry number `attempt` (1-based): 1 s, 2 s, 4 s, ... capped at a minute. */
export function retryDelayMs(attempt: number): number {
  return Math.min(1000 * 2 ** (attempt - 1), MAX_BACKOFF_MS);
}

/**
 * The object's outbox of webhooks, in SQLite so nothing is lost when it is evicted. Events wait
 * until they are due (leave events a few seconds, so a quick reconnect cancels them instead of
 * flapping), then go out together in one signed body; a body that is not answered 2xx is retried
 * with back-off. The object's alarm drives it (see server.ts).
 */
export class WebhookQueue {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    sql.exec(`create table if not exists webhook_events (
      id integer primary key autoincrement, due_at integer not null, name text not null,
      channel text not null, user_id text, event text not null)`);
    sql.exec(`create table if not exists webhook_deliveries (
      id integer primary key autoincrement, body text not null, attempts integer not null default 0,
      first_at integer not null, next_at integer not null)`);
  }

  /** Queues an event to go out at `dueAt`. */
  enqueue(event: WebhookEvent, dueAt: number): void {
    const userId = 'user_id' in event ? (event.user_id ?? null) : null;
    this.sql.exec(
      'insert into webhook_events (due_at, name, channel, user_id, event) values (?, ?, ?, ?, ?)',
      dueAt,
      event.name,
      event.channel,
      userId,
      JSON.stringify(event),
    );
  }

  /** Drops a not-yet-sent event (a pending vacated/member_removed that a rejoin made untrue); true if there was one. */
  cancel(name: 'channel_vacated' | 'member_removed', channel: string, userId: string | null): boolean {
    return (
      this.sql.exec('delete from webhook_events where name = ? and channel = ? and user_id is ?', name, channel, userId).rowsWritten > 0
    );
  }

  /** When the next event or retry is due, or null when there is nothing to send. */
  nextDueAt(): number | null {
    const row = this.sql
      .exec<{ due: number | null }>(
        'select min(due) as due from (select min(due_at) as due from webhook_events union all select min(next_at) from webhook_deliveries)',
      )
      .one();
    return row.due;
  }

  /** Sends every due event (one body) and every due retry. */
  async deliverDue(app: RealtimeApp, now: number, log: Logger): Promise<void> {
    const due = this.sql
      .exec<{ id: number; event: string }>(
        'select id, event from webhook_events where due_at <= ? order by id limit ?',
        now,
        MAX_EVENTS_PER_ALARM,
      )
      .toArray();
    if (due.length > 0) {
      this.sql.exec('delete from webhook_events where id <= ? and due_at <= ?', due.at(-1)!.id, now);
      if (app.webhookUrl !== null) {
        for (const events of webhookBodies(due.map((row) => row.event))) {
          const body = `{"time_ms":${now},"events":[${events.join(',')}]}`;
          this.sql.exec('insert into webhook_deliveries (body, first_at, next_at) values (?, ?, ?)', body, now, now);
        }
      }
    }
    const deliveries = this.sql
      .exec<{ id: number; body: string; attempts: number; first_at: number }>(
        'select id, body, attempts, first_at from webhook_deliveries where next_at <= ? order by id limit 50',
        now,
      )
      .toArray();
    await Promise.all(deliveries.map((delivery) => this.attempt(app, delivery, now, log)));
  }

  private async attempt(
    app: RealtimeApp,
    delivery: { id: number; body: string; attempts: number; first_at: number },
    now: number,
    log: Logger,
  ): Promise<void> {
    const attempts = delivery.attempts + 1;
    let problem: string;
    if (app.webhookUrl === null) {
      this.sql.exec('delete from webhook_deliveries where id = ?', delivery.id);
      return;
    }
    try {
      const response = await fetch(app.webhookUrl, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-Pusher-Key': app.key,
          'X-Pusher-Signature': webhookSignature(app.secret, delivery.body),
        },
        body: delivery.body,
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      await response.body?.cancel();
      if (response.ok) {
        this.sql.exec('delete from webhook_deliveries where id = ?', delivery.id);
        log.debug('webhook delivered', { app_id: app.id, attempts });
        return;
      }
      problem = `HTTP ${response.status}`;
    } catch (error) {
      problem = String(error);
    }
    const nextAt = now + retryDelayMs(attempts);
    if (nextAt - delivery.first_at > WEBHOOK_RETRY_WINDOW_MS) {
      this.sql.exec('delete from webhook_deliveries where id = ?', delivery.id);
      log.error('webhook dropped after retrying for 5 minutes: check REALTIME_WEBHOOK_URL and that the receiver answers 2xx', {
        app_id: app.id,
        attempts,
        problem,
      });
      return;
    }
    this.sql.exec('update webhook_deliveries set attempts = ?, next_at = ? where id = ?', attempts, nextAt, delivery.id);
    log.warn('webhook failed; will retry', { app_id: app.id, attempts, problem, retry_in_ms: nextAt - now });
  }
}
