/**
 * Claims the entries of concurrent webhooks together. While one claim is on its way to the
 * database, the webhooks that arrive in the same isolate wait, then go as one claim when it is back
 * (group commit): a lone webhook claims at once, and a burst of one-row inserts costs the database
 * one claim per round trip instead of one per webhook.
 *
 * Requests share plain data only, never an I/O object: each claim is made by a request that takes
 * part in it, and every request waits in a promise it made itself. Clients de-duplicate by id, and
 * the outbox's lease keeps two claims from taking one entry, batched or not.
 */

import type { OutboxEntry } from '../data/outbox.ts';

/** A request in a claim: the ids it named and, once its claim is back, what it gets. */
interface Member {
  ids: number[];
  /** Taken into a claim on its way. */
  taken: boolean;
  outcome?: { entries: OutboxEntry[] } | { error: unknown };
  /** Resumes the request, waiting in its own promise, to look at its state again. */
  wake: () => void;
}

/** The most entry ids one claim names (ten webhooks of 100). */
export const MAX_IDS_PER_CLAIM = 1000;
/** How often a waiting request looks at its state again without being woken. */
const WAIT_SLICE_MS = 250;
/**
 * How long a request waits to join a claim before it claims alone: well within pg_net's 5 s timeout
 * for the webhook (see the outbox migration), so its own claim still has time to answer.
 */
export const MAX_WAIT_MS = 2000;

/** Batches claims (see the module comment). `claim` is one claim of the outbox. */
export class ClaimBatcher {
  readonly #claim: (ids: number[]) => Promise<OutboxEntry[]>;
  #busy = false;
  /** Requests waiting for the claim on its way to come back; none of them taken. */
  #waiting: Member[] = [];
  readonly #maxWaitMs: number;

  constructor(claim: (ids: number[]) => Promise<OutboxEntry[]>, maxWaitMs = MAX_WAIT_MS) {
    this.#claim = claim;
    this.#maxWaitMs = maxWaitMs;
  }

  /**
   * Claims the entries `ids` names, alone or with the webhooks waiting beside it, and returns what
   * this request delivers: the entries it named that the claim took, with the earlier pending
   * entries of their rows. All the entries of one row go to one request, so a row's changes are
   * published in order; a row that two webhooks named goes to the first of them.
   *
   * `keepAlive` (the request's `waitUntil`) keeps a claim this request makes going when the request
   * itself is cancelled, so the requests that joined it get their share and the next claim starts.
   * When the claim before it is back, every waiting request resumes and the first to run leads the
   * next with the others: a waiting request that never resumes (cancelled) holds nobody up.
   */
  async claim(ids: number[], keepAlive?: (promise: Promise<unknown>) => void): Promise<OutboxEntry[]> {
    const me: Member = { ids, taken: false, wake: () => undefined };
    const since = Date.now();
    for (;;) {
      if (me.outcome) {
        if ('error' in me.outcome) throw me.outcome.error;
        return me.outcome.entries;
      }
      if (!me.taken && !this.#busy) {
        const claimed = this.#lead(me);
        keepAlive?.(claimed);
        await claimed;
        continue;
      }
      if (!me.taken && Date.now() - since >= this.#maxWaitMs) {
        // The claim on its way is stuck: stop waiting for it.
        this.#waiting = this.#waiting.filter((member) => member !== me);
        return this.#claim(ids);
      }
      await new Promise<void>((resume) => {
        me.wake = resume;
        // A request waiting on another's I/O alone is one the runtime cancels as hung: the timer is
        // its own I/O, and looks again now and then.
        setTimeout(resume, Math.min(WAIT_SLICE_MS, this.#maxWaitMs));
        if (!me.taken && !this.#waiting.includes(me)) this.#waiting.push(me);
      });
    }
  }

  /**
   * One claim for `leader` and the requests waiting that fit beside it, longest waiting first. Each
   * one's outcome (its share, or the claim's error) is left on it; this never throws.
   */
  async #lead(leader: Member): Promise<void> {
    this.#busy = true;
    this.#waiting = this.#waiting.filter((member) => member !== leader);
    const members = [leader];
    let named = leader.ids.length;
    while (this.#waiting.length > 0 && named + this.#waiting[0]!.ids.length <= MAX_IDS_PER_CLAIM) {
      const member = this.#waiting.shift()!;
      member.taken = true;
      named += member.ids.length;
      members.push(member);
    }
    const group = members.map((member) => member.ids);
    try {
      const shares = shareOut(await this.#claim([...new Set(group.flat())]), group);
      for (const [index, member] of members.entries()) member.outcome = { entries: shares[index]! };
    } catch (error) {
      for (const member of members) member.outcome = { error };
    } finally {
      this.#busy = false;
      for (const member of [...members.slice(1), ...this.#waiting]) member.wake();
    }
  }
}

/**
 * Splits a claim's entries (in id order) between the requests that named them (`group[i]` is the
 * i-th request's ids): each row goes to the request that named its earliest claimed entry, with all
 * its entries, named or not. An entry of a row nobody named goes to the first request.
 */
export function shareOut(entries: OutboxEntry[], group: number[][]): OutboxEntry[][] {
  const namedBy = new Map<number, number>();
  group.forEach((ids, index) => {
    for (const id of ids) if (!namedBy.has(id)) namedBy.set(id, index);
  });
  const rowKey = (entry: OutboxEntry) => `${entry.table_name}\u0000${entry.row_id}`;
  const rowOwner = new Map<string, number>();
  for (const entry of entries) {
    const index = namedBy.get(entry.id);
    if (index !== undefined && !rowOwner.has(rowKey(entry))) rowOwner.set(rowKey(entry), index);
  }
  const shares = group.map((): OutboxEntry[] => []);
  for (const entry of entries) shares[rowOwner.get(rowKey(entry)) ?? 0]!.push(entry);
  return shares;
}
