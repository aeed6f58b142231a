import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { COUNT_REFRESH_MS, UnreadCount } from '../../web/src/unread-count.ts';

/** An UnreadCount whose server answers `server.count`, recording each time it is asked. */
function counter() {
  const server = { count: 0, asked: 0, answer: null as null | ((count: number) => void) };
  const shown = vi.fn();
  const count = new UnreadCount(() => {
    server.asked++;
    if (!server.answer) return Promise.resolve(server.count);
    return new Promise<number>((resolve) => (server.answer = resolve));
  }, shown);
  return { count, server, shown };
}

describe('the unread count (web/src/unread-count.ts)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('shows the loaded emails’ count until the server answers, then the server’s, moved by live changes', () => {
    const { count } = counter();
    expect(count.value(3)).toBe(3);
    count.answered(2663, count.asking());
    expect(count.value(3)).toBe(2663);
    count.changed(+1); // an arrival
    count.changed(-1); // read in another tab
    count.changed(-1);
    expect(count.value(3)).toBe(2662);
    count.changed(-2662); // every loaded one read
    expect(count.value(0)).toBe(0);
    count.changed(-5);
    expect(count.value(0)).toBe(0); // never below zero
  });

  it('asks the server once after counted changes stop, so a change an answer already held is not counted twice', async () => {
    const { count, server, shown } = counter();
    // The first page's answer already counts an email whose live event comes right after it.
    server.count = 1;
    count.answered(1, count.asking());
    count.changed(+1);
    expect(count.value(0)).toBe(2);
    await vi.advanceTimersByTimeAsync(COUNT_REFRESH_MS / 2);
    count.changed(-1);
    count.changed(+1);
    expect(server.asked).toBe(0);
    await vi.advanceTimersByTimeAsync(COUNT_REFRESH_MS);
    expect(server.asked).toBe(1);
    expect(count.value(0)).toBe(1);
    expect(shown).toHaveBeenCalledTimes(1);
  });

  it('asks the server once, after the changes stop, when a change concerns an email not loaded', async () => {
    const { count, server, shown } = counter();
    count.answered(100, count.asking());
    server.count = 97;
    count.changedUnknown();
    await vi.advanceTimersByTimeAsync(COUNT_REFRESH_MS / 2);
    count.changedUnknown();
    count.changedUnknown();
    expect(server.asked).toBe(0);
    await vi.advanceTimersByTimeAsync(COUNT_REFRESH_MS);
    expect(server.asked).toBe(1);
    expect(count.value(0)).toBe(97);
    expect(shown).toHaveBeenCalledTimes(1);
  });

  it('keeps an answer that may predate a change seen meanwhile for now, and asks again', async () => {
    const { count, server } = counter();
    const asked = count.asking();
    count.changed(+1); // an arrival while the first page was on its way: the answer may not have it
    count.answered(120, asked);
    expect(count.value(0)).toBe(120);
    server.count = 121;
    await vi.advanceTimersByTimeAsync(COUNT_REFRESH_MS);
    expect(server.asked).toBe(1);
    expect(count.value(0)).toBe(121);
    // With no change meanwhile, an answer stands and nothing more is asked.
    count.answered(121, count.asking());
    await vi.advanceTimersByTimeAsync(COUNT_REFRESH_MS * 3);
    expect(server.asked).toBe(1);
  });

  it('asks once more when changes come while its own request is on its way, one request at a time', async () => {
    const { count, server } = counter();
    count.answered(10, count.asking());
    server.answer = () => {}; // requests now wait for the test to answer
    count.changedUnknown();
    await vi.advanceTimersByTimeAsync(COUNT_REFRESH_MS);
    expect(server.asked).toBe(1);
    count.changedUnknown(); // while the request is out
    count.changedUnknown();
    await vi.advanceTimersByTimeAsync(COUNT_REFRESH_MS * 3);
    expect(server.asked).toBe(1); // not a second request alongside
    const answer = server.answer!;
    server.answer = null;
    server.count = 7;
    answer(8);
    await vi.advanceTimersByTimeAsync(0);
    expect(count.value(0)).toBe(8);
    await vi.advanceTimersByTimeAsync(COUNT_REFRESH_MS);
    expect(server.asked).toBe(2);
    expect(count.value(0)).toBe(7);
  });

  it('forgets the count and any pending request on reset (sign-out)', async () => {
    const { count, server } = counter();
    count.answered(5, count.asking());
    count.changedUnknown();
    count.reset();
    await vi.advanceTimersByTimeAsync(COUNT_REFRESH_MS * 2);
    expect(server.asked).toBe(0);
    expect(count.value(2)).toBe(2);
  });
});
