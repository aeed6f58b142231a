// The mailbox's state: every email this page knows, keyed by id, so the same email arriving twice
// (webhook and redelivery, or an event and a catch-up fetch) is only ever one row.

import { type EmailReceivedPayload, previewOf } from '../../functions/broadcast/events.ts';
import type { Email } from './api.ts';

/** An email as the page holds it: a live event brings a preview only, the body comes with the API. */
export interface MailboxEmail {
  id: string;
  sender_id: string;
  sender_name: string;
  subject: string;
  preview: string;
  body: string | null;
  created_at: string;
  read_at: string | null;
}

/** An API email in the page's shape. */
export function fromApi(email: Email): MailboxEmail {
  return { ...email, preview: previewOf(email.body), body: email.body };
}

/** An `email.received` event in the page's shape (unread, body not yet known). */
export function fromEvent(event: EmailReceivedPayload): MailboxEmail {
  return { ...event, body: null, read_at: null };
}

/**
 * A sortable number for a timestamp, to the microsecond: Postgres prints `created_at` with up to
 * six fractional digits, and Date.parse keeps only milliseconds. Postgres' `infinity` and
 * `-infinity` (a row written by hand) sort first and last; anything else unreadable sorts last.
 */
export function timeKey(iso: string): number {
  if (iso === 'infinity') return Number.POSITIVE_INFINITY;
  const parsed = Date.parse(iso);
  if (Number.isNaN(parsed)) return Number.NEGATIVE_INFINITY;
  const fraction = /\.(\d+)/.exec(iso)?.[1] ?? '';
  return parsed * 1000 + Number(fraction.padEnd(6, '0').slice(3, 6));
}

/** Newest first; equal times fall back to the id so the order is stable (as the API orders them). */
function newestFirst(a: Pick<MailboxEmail, 'created_at' | 'id'>, b: Pick<MailboxEmail, 'created_at' | 'id'>): number {
  const ta = timeKey(a.created_at);
  const tb = timeKey(b.created_at);
  if (ta !== tb) return tb > ta ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** Whether `email` comes before `other` in the inbox's order (newest first, then by id, as the API pages). */
export function sortsAbove(email: Pick<MailboxEmail, 'created_at' | 'id'>, other: Pick<MailboxEmail, 'created_at' | 'id'>): boolean {
  return newestFirst(email, other) < 0;
}

/** The emails this page knows, de-duplicated by id. */
export class Mailbox {
  private readonly byId = new Map<string, MailboxEmail>();
  /** {@link list}'s answer until the next change: a large inbox is sorted once per change, not per render. */
  private sorted: MailboxEmail[] | null = null;
  private unread = 0;
  /**
   * Emails deleted while this page was open. The server may publish an email.received after its
   * email.deleted (a webhook published from its payload for a row deleted a moment later), so a
   * late copy of a deleted email must not bring it back.
   */
  private readonly deletedIds = new Set<string>();

  /** Adds or refreshes emails; returns the ones that were not known before. Deleted ones stay out. */
  merge(emails: MailboxEmail[]): MailboxEmail[] {
    const added: MailboxEmail[] = [];
    for (const email of emails) {
      if (this.deletedIds.has(email.id)) continue;
      const known = this.byId.get(email.id);
      if (!known) {
        this.put(email);
        added.push(email);
        continue;
      }
      // Keep what the newer copy lacks: an event has no body, and a stale copy must not un-read.
      this.put({ ...known, ...email, body: email.body ?? known.body, read_at: email.read_at ?? known.read_at });
    }
    return added;
  }

  /** Records a read-state change; false when the email is unknown here. */
  setReadAt(id: string, readAt: string | null): boolean {
    const known = this.byId.get(id);
    if (!known) return false;
    this.put({ ...known, read_at: readAt });
    return true;
  }

  /** Forgets an email (signing out); it may be merged again later. */
  remove(id: string): boolean {
    return this.drop(id);
  }

  /** An email was deleted: forgets it and keeps it out for good; false when it was not known. */
  delete(id: string): boolean {
    this.deletedIds.add(id);
    return this.drop(id);
  }

  get(id: string): MailboxEmail | undefined {
    return this.byId.get(id);
  }

  /** Every known email, newest first (the same array until the next change: do not modify it). */
  list(): readonly MailboxEmail[] {
    this.sorted ??= [...this.byId.values()].sort(newestFirst);
    return this.sorted;
  }

  get size(): number {
    return this.byId.size;
  }

  /** Unread emails among those known here (the inbox may hold more the page has not loaded). */
  get unreadCount(): number {
    return this.unread;
  }

  private put(email: MailboxEmail): void {
    const before = this.byId.get(email.id);
    if (before?.read_at === null) this.unread--;
    if (email.read_at === null) this.unread++;
    this.byId.set(email.id, email);
    this.sorted = null;
  }

  private drop(id: string): boolean {
    const known = this.byId.get(id);
    if (!known) return false;
    if (known.read_at === null) this.unread--;
    this.byId.delete(id);
    this.sorted = null;
    return true;
  }

  /**
   * The newest `created_at` known, the lower bound of a catch-up fetch and of "Mark all read". A
   * time no cursor can carry (`infinity`, from a row written by hand) is passed over.
   */
  newest(): string | undefined {
    return this.list().find((email) => Number.isFinite(timeKey(email.created_at)))?.created_at;
  }
}
