import { describe, expect, it } from 'vitest';
import { ClaimBatcher, MAX_IDS_PER_CLAIM, shareOut } from '../../../functions/broadcast/claim-batcher.ts';
import type { OutboxEntry } from '../../../functions/data/outbox.ts';

/** An outbox entry of `public.emails` row `row`. */
const entry = (id: number, row: string): OutboxEntry => ({
  id,
  table_name: 'public.emails',
  operation: 'UPDATE',
  row_id: row,
  changed_columns: ['read_at'],
  created_at: '2026-12-03T00:00:00Z',
  attempts: 1,
  record: { id: row },
});

/**
 * A database whose claims wait until the test lets them go: `claims` lists the ids of each claim
 * made, and `answer(n)` returns the n-th claim's entries (one per id named, on row `r<id>` unless
 * `rows` says otherwise).
 */
function heldDatabase(rows: Record<number, string> = {}) {
  const claims: number[][] = [];
  const answers: Array<(result: OutboxEntry[] | Error) => void> = [];
  const claim = (ids: number[]) => {
    claims.push(ids);
    return new Promise<OutboxEntry[]>((resolve, reject) => {
      answers.push((result) => (result instanceof Error ? reject(result) : resolve(result)));
    });
  };
  const answer = (n: number, result?: OutboxEntry[] | Error) =>
    answers[n]!(result ?? claims[n]!.map((id) => entry(id, rows[id] ?? `r${id}`)));
  return { claims, claim, answer };
}

const ids = (entries: OutboxEntry[]) => entries.map((e) => e.id);

describe('ClaimBatcher (claiming concurrent webhooks together)', () => {
  it('claims a lone webhook at once, and the next one too once it is back', async () => {
    const db = heldDatabase();
    const batcher = new ClaimBatcher(db.claim);
    const first = batcher.claim([1, 2]);
    expect(db.claims).toEqual([[1, 2]]);
    db.answer(0);
    expect(ids(await first)).toEqual([1, 2]);
    const second = batcher.claim([3]);
    expect(db.claims).toEqual([[1, 2], [3]]);
    db.answer(1);
    expect(ids(await second)).toEqual([3]);
  });

  it('makes the webhooks that arrive while a claim is on its way one claim, and gives each its own entries', async () => {
    const db = heldDatabase();
    const batcher = new ClaimBatcher(db.claim);
    const first = batcher.claim([1]);
    const waiting = [batcher.claim([2]), batcher.claim([3, 4]), batcher.claim([5])];
    expect(db.claims, 'nothing more goes to the database while a claim is on its way').toEqual([[1]]);
    db.answer(0);
    expect(ids(await first)).toEqual([1]);
    await expect.poll(() => db.claims).toEqual([[1], [2, 3, 4, 5]]);
    db.answer(1);
    expect((await Promise.all(waiting)).map(ids)).toEqual([[2], [3, 4], [5]]);
    // Idle again: the next webhook claims at once.
    const later = batcher.claim([6]);
    expect(db.claims).toHaveLength(3);
    db.answer(2);
    expect(ids(await later)).toEqual([6]);
  });

  it('gives every request of a failed claim its error, and claims the next ones again', async () => {
    const db = heldDatabase();
    const batcher = new ClaimBatcher(db.claim);
    const first = batcher.claim([1]);
    const joined = [batcher.claim([2]), batcher.claim([3])];
    db.answer(0);
    await first;
    await expect.poll(() => db.claims).toHaveLength(2);
    db.answer(1, new Error('the database is down'));
    for (const result of await Promise.allSettled(joined)) {
      expect(result).toEqual({ status: 'rejected', reason: new Error('the database is down') });
    }
    const after = batcher.claim([4]);
    expect(db.claims).toEqual([[1], [2, 3], [4]]);
    db.answer(2);
    expect(ids(await after)).toEqual([4]);
  });

  it(`names at most ${MAX_IDS_PER_CLAIM} ids in one claim; the webhooks left over go in the next`, async () => {
    const db = heldDatabase();
    const batcher = new ClaimBatcher(db.claim);
    const hundred = (from: number) => Array.from({ length: 100 }, (_, i) => from + i);
    const first = batcher.claim([0]);
    const waiting = Array.from({ length: 12 }, (_, n) => batcher.claim(hundred(1000 + n * 100)));
    db.answer(0);
    await first;
    await expect.poll(() => db.claims).toHaveLength(2);
    expect(db.claims[1]).toHaveLength(MAX_IDS_PER_CLAIM);
    db.answer(1);
    await expect.poll(() => db.claims).toHaveLength(3);
    expect(db.claims[2], 'the two webhooks that did not fit').toEqual([...hundred(2000), ...hundred(2100)]);
    db.answer(2);
    expect((await Promise.all(waiting)).map(ids)).toEqual(Array.from({ length: 12 }, (_, n) => hundred(1000 + n * 100)));
  });

  it('stops waiting for a claim that does not come back, and claims alone', async () => {
    const db = heldDatabase();
    const batcher = new ClaimBatcher(db.claim, 20);
    const stuck = batcher.claim([1]);
    const waiting = batcher.claim([2]);
    await expect.poll(() => db.claims).toEqual([[1], [2]]);
    db.answer(1);
    expect(ids(await waiting)).toEqual([2]);
    db.answer(0);
    expect(ids(await stuck)).toEqual([1]);
  });

  it('keeps the claim a request leads going through its keepAlive', async () => {
    const db = heldDatabase();
    const batcher = new ClaimBatcher(db.claim);
    const kept: Promise<unknown>[] = [];
    const claimed = batcher.claim([1], (promise) => kept.push(promise));
    expect(kept).toHaveLength(1);
    db.answer(0);
    await Promise.all(kept);
    expect(ids(await claimed)).toEqual([1]);
  });
});

describe('shareOut (whose entries are whose)', () => {
  it('gives each row, with the earlier entries a claim added to it, to the request that named its earliest entry', () => {
    // Entry 1 is an earlier pending entry of row a that no webhook named; 3 and 4 are both on row b.
    const claimed = [entry(1, 'a'), entry(2, 'a'), entry(3, 'b'), entry(4, 'b'), entry(5, 'c')];
    const shares = shareOut(claimed, [
      [4, 5],
      [2, 3],
    ]);
    expect(shares.map(ids), "row b goes with entry 3, the second request's, and so does 4").toEqual([[5], [1, 2, 3, 4]]);
  });

  it('gives an entry named by two requests to the first, and an entry of a row nobody named to the first request', () => {
    const shares = shareOut([entry(1, 'a'), entry(7, 'z')], [[1], [1]]);
    expect(shares.map(ids)).toEqual([[1, 7], []]);
  });

  it('keeps each share in claim order (by id), whatever order the ids were named in', () => {
    const shares = shareOut([entry(1, 'a'), entry(2, 'b'), entry(3, 'c')], [[3, 1, 2]]);
    expect(shares.map(ids)).toEqual([[1, 2, 3]]);
  });
});
