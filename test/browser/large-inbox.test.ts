import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  type Account,
  eventually,
  loadedEmails,
  networkSwitch,
  recordToasts,
  rows,
  saveScreenshot,
  scrollThroughInbox,
  toastWith,
  unreadCount,
  useLiveStack,
} from '../support/node/browser.ts';

// The inbox at the sizes people's inboxes reach: the unread count the page shows is the database's,
// live changes keep it right, "Mark all read" is one request for the whole inbox, and a long list
// scrolls with a bounded number of rows in the page.
describe('a large inbox', () => {
  const live = useLiveStack();

  /** `count` emails for `to`, in one statement; `quietly` skips the observer (a bulk load, not mail to announce). */
  async function fill(to: Account, count: number, options: { read?: boolean; quietly?: boolean; subject?: string } = {}): Promise<void> {
    await live.db.query('begin');
    if (options.quietly) await live.db.query('set local session_replication_role = replica');
    await live.db.query(
      `insert into public.emails (sender_id, recipient_id, subject, body, created_at, read_at)
       select $1, $2, $5 || lpad(n::text, 5, '0'), 'Body ' || n, now() - ($3::int - n) * interval '1 second', case when $4 then now() end
       from generate_series(1, $3::int) n`,
      [live.admin.id, to.id, count, options.read ?? false, options.subject ?? 'Email '],
    );
    await live.db.query('commit');
  }

  const summary = (page: Page) => page.getByTestId('inbox-summary').textContent();
  const focusedSubject = (page: Page) => page.evaluate(() => document.activeElement?.querySelector('.email-subject')?.textContent ?? '');

  /** Holds the page's answers to requests matching `url` until `release()`: the request itself reaches the Worker at once. */
  async function holdAnswers(page: Page, url: RegExp): Promise<{ release(): void }> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await page.route(url, async (route) => {
      const response = await route.fetch();
      await released;
      await route.fulfill({ response });
    });
    return { release };
  }

  it('shows the database’s unread count in the badge, the title and the list header, with 10,000 emails in the inbox', async () => {
    const reader = await live.createUser('Mary Jackson');
    await fill(reader, 10_000, { quietly: true });
    await fill(reader, 250, { read: true, quietly: true, subject: 'Read ' });
    const page = await live.signIn(await live.newContext(), reader);
    await eventually(() => unreadCount(page)).toBe(10_000);
    expect(await page.getByTestId('unread-badge').textContent()).toBe('10,000');
    expect(await page.title()).toBe('(10,000) Inbox · Tidings');
    expect(await summary(page)).toBe('10,000 unread');
    // One page is loaded and a few dozen rows exist, whatever the inbox holds.
    expect(await loadedEmails(page)).toBe(50);
    expect(await rows(page).count()).toBeLessThanOrEqual(60);
    await saveScreenshot(page, 'large-inbox-count');
  });

  it('keeps the count right after a live arrival and after reads in another tab, loaded there or not', async () => {
    const reader = await live.createUser('Dorothy Vaughan');
    await fill(reader, 120);
    const context = await live.newContext();
    const first = await live.signIn(context, reader);
    const second = await live.open(context);
    await eventually(() => unreadCount(second)).toBe(120);

    await live.insertEmail(live.admin, reader, 'Fresh news', 'Just now.');
    for (const page of [first, second]) await eventually(() => unreadCount(page)).toBe(121);

    // Read in the first tab, shown in both.
    await rows(first).filter({ hasText: 'Fresh news' }).locator('button').click();
    for (const page of [first, second]) await eventually(() => unreadCount(page)).toBe(120);

    // An email the second tab never loaded (far below its first page) read elsewhere: it asks the server.
    await live.db.query(`update public.emails set read_at = now() where recipient_id = $1 and subject = 'Email 00003'`, [reader.id]);
    for (const page of [first, second]) await eventually(() => unreadCount(page)).toBe(119);
    expect(await second.title()).toBe('(119) Inbox · Tidings');
  });

  it('marks all read with one click, in every tab of the user, and undoes it', async () => {
    const reader = await live.createUser('Christine Darden');
    await fill(reader, 150);
    const context = await live.newContext();
    const first = await live.signIn(context, reader);
    const second = await live.open(context);
    await eventually(() => unreadCount(second)).toBe(150);

    const requests: string[] = [];
    first.on('request', (request) => {
      if (request.url().includes('/api/emails/mark-all-read')) requests.push(request.method());
    });
    await first.getByTestId('mark-all-read').click();
    await toastWith(first, 'Marked 150 emails read.').waitFor();
    expect(requests).toEqual(['POST']);
    for (const page of [first, second]) {
      await eventually(() => unreadCount(page)).toBe(0);
      await eventually(() => summary(page)).toBe('All read');
      await eventually(() => page.locator('[data-testid="email-row"].unread').count()).toBe(0);
      expect(await page.getByTestId('mark-all-read').isHidden()).toBe(true);
    }
    await saveScreenshot(first, 'large-inbox-all-read');

    await toastWith(first, 'Marked 150 emails read.').getByRole('button', { name: 'Undo' }).click();
    for (const page of [first, second]) await eventually(() => unreadCount(page)).toBe(150);
    expect(
      await live.db.query('select count(*)::int as n from public.emails where recipient_id = $1 and read_at is null', [reader.id]),
    ).toMatchObject({
      rows: [{ n: 150 }],
    });
  });

  it('scrolls to the end of a 500-email inbox, loading older pages by itself, each email once and in order', async () => {
    const reader = await live.createUser('Evelyn Boyd Granville');
    await fill(reader, 500, { quietly: true });
    const page = await live.signIn(await live.newContext(), reader);
    await eventually(() => loadedEmails(page)).toBe(50);
    const subjects = await scrollThroughInbox(page);
    expect(subjects).toEqual(Array.from({ length: 500 }, (_, index) => `Unread: Email ${String(500 - index).padStart(5, '0')}`));
    expect(await loadedEmails(page)).toBe(500);
    expect(await rows(page).count()).toBeLessThanOrEqual(60);
    expect(await page.getByRole('button', { name: 'Load older' }).isHidden()).toBe(true);
    // The rows say where they are in the whole list.
    const lastRow = rows(page).last();
    expect(await lastRow.getAttribute('aria-posinset')).toBe('500');
    expect(await lastRow.getAttribute('aria-setsize')).toBe('500');
  });

  it('loads one page of an import whose emails share one created_at, and a reconnect fetches only the new mail', async () => {
    const reader = await live.createUser('Katherine Johnson');
    // One statement with no times of its own: every row gets the transaction's created_at, as an
    // import (or the psql one-liner in the README) does.
    await live.db.query('begin');
    await live.db.query('set local session_replication_role = replica');
    await live.db.query(
      `insert into public.emails (sender_id, recipient_id, subject, body)
       select $1, $2, 'Imported ' || lpad(n::text, 5, '0'), 'Body' from generate_series(1, 300) n`,
      [live.admin.id, reader.id],
    );
    await live.db.query('commit');
    const context = await live.newContext();
    const toasts = await recordToasts(context);
    const network = await networkSwitch(context);
    const catchUps: string[] = [];
    context.on('request', (request) => {
      if (/\/api\/emails\?.*after=/.test(request.url())) catchUps.push(request.url());
    });
    const page = await live.signIn(context, reader);
    await eventually(() => unreadCount(page)).toBe(300);

    await network.off();
    await page.locator('[data-testid="connection"][data-state="offline"]').waitFor();
    await live.insertEmail(live.admin, reader, 'Sent while away 1', 'One.');
    await live.insertEmail(live.admin, reader, 'Sent while away 2', 'Two.');
    await network.on();
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 30_000 });
    await eventually(() => rows(page).locator('.email-subject').first().textContent()).toBe('Unread: Sent while away 2');
    await eventually(() => unreadCount(page)).toBe(302);
    // Syncs run one after another, so the first (on subscribing) finished before this one. Neither
    // took the 250 imported emails below the first page for new mail: one request each, nothing
    // loaded but the two new emails, and no "arrived while you were away" for the old ones.
    expect(catchUps).toHaveLength(2);
    expect(await loadedEmails(page)).toBe(52);
    expect((await toasts(page)).filter((text) => text.includes('arrived while you were away'))).toEqual([]);
    expect((await toasts(page)).filter((text) => text.includes('Sent while away'))).toHaveLength(2);
    // The rest of the import still comes page by page, each email once and in the API's order.
    const subjects = await scrollThroughInbox(page);
    expect(subjects).toHaveLength(302);
    expect(new Set(subjects).size).toBe(302);
    expect(subjects.slice(0, 2)).toEqual(['Unread: Sent while away 2', 'Unread: Sent while away 1']);
  });

  it('shows the database’s count after mark all read and undo, also when the page’s own events come before the answer', async () => {
    const reader = await live.createUser('Gladys West');
    await fill(reader, 30);
    const context = await live.newContext();
    const first = await live.signIn(context, reader);
    const second = await live.open(context);
    await eventually(() => unreadCount(second)).toBe(30);

    // The answer is held until the email.updated events for the 30 emails have been applied, and an
    // email has arrived after them: the count must end at the database's 1, not 1 - 30 (shown as 0).
    // (The answer's count predates that arrival; live changes seen meanwhile make the page ask again.)
    const marking = await holdAnswers(first, /\/api\/emails\/mark-all-read$/);
    await first.getByTestId('mark-all-read').click();
    await eventually(() => unreadCount(first)).toBe(0);
    await live.insertEmail(live.admin, reader, 'Arrived meanwhile', 'Still unread.');
    await eventually(() => unreadCount(first)).toBe(1);
    marking.release();
    await toastWith(first, 'Marked 30 emails read.').waitFor();
    await eventually(() => unreadCount(first)).toBe(1);
    expect(await summary(first)).toBe('1 unread');
    expect(await first.title()).toBe('(1) Inbox · Tidings');

    // Undo: its events bring the count to 31 before the answer, which must not add 30 again.
    const undoing = await holdAnswers(first, /\/api\/emails\/mark-all-read\/undo$/);
    await toastWith(first, 'Marked 30 emails read.').getByRole('button', { name: 'Undo' }).click();
    await eventually(() => unreadCount(first)).toBe(31);
    undoing.release();
    await toastWith(first, 'Marked 30 emails unread again.').waitFor();
    expect(await unreadCount(first)).toBe(31);
    await eventually(() => unreadCount(second)).toBe(31);
    expect(
      (await live.db.query('select count(*)::int as n from public.emails where recipient_id = $1 and read_at is null', [reader.id])).rows,
    ).toEqual([{ n: 31 }]);
  });

  it('keeps keyboard focus on its email while a catch-up brings in pages above it', async () => {
    const reader = await live.createUser('Marjorie Lee Browne');
    await fill(reader, 60, { quietly: true });
    const context = await live.newContext();
    const network = await networkSwitch(context);
    const page = await live.signIn(context, reader);
    await eventually(() => loadedEmails(page)).toBe(50);
    await rows(page).first().locator('button').focus();

    await network.off();
    await page.locator('[data-testid="connection"][data-state="offline"]').waitFor();
    // 250 newer emails: the catch-up takes three pages of 100.
    await live.db.query(
      `insert into public.emails (sender_id, recipient_id, subject, body, created_at)
       select $1, $2, 'New ' || lpad(n::text, 5, '0'), 'Body', now() + n * interval '1 millisecond' from generate_series(1, 250) n`,
      [live.admin.id, reader.id],
    );
    const laterPages = await holdAnswers(page, /\/api\/emails\?.*after=.*before_id=/);
    const secondPage = page.waitForRequest(/\/api\/emails\?.*after=.*before_id=/);
    await network.on();
    await secondPage;
    // The first page of the catch-up is in; End goes to the last email loaded, the oldest shown.
    await page.keyboard.press('End');
    expect(await focusedSubject(page)).toBe('Unread: Email 00011');
    laterPages.release();
    // The 250 new ones, the first page, and the last 10 (End reached the end of what was loaded).
    await eventually(() => loadedEmails(page)).toBe(310);
    // 150 more emails came in above the focused one: it kept focus (and its place on screen).
    expect(await focusedSubject(page)).toBe('Unread: Email 00011');
    await page.keyboard.press('ArrowUp');
    expect(await focusedSubject(page)).toBe('Unread: Email 00012');
  });

  it('scrolls a long inbox at phone width inside the list, which loads older pages and keeps a few dozen rows', async () => {
    const reader = await live.createUser('Mary Winston Jackson');
    await fill(reader, 200, { quietly: true });
    const page = await live.signIn(await live.newContext({ viewport: 'phone' }), reader);
    await eventually(() => loadedEmails(page)).toBe(50);
    // The list is the scroller, as on a wide screen: a page that grew with the list showed blank
    // space below the first rows and never loaded older mail by scrolling.
    expect(await page.evaluate(() => document.documentElement.scrollHeight <= window.innerHeight)).toBe(true);
    expect(await rows(page).count()).toBeLessThanOrEqual(30);
    await saveScreenshot(page, 'large-inbox-phone');
    const subjects = await scrollThroughInbox(page);
    expect(subjects).toEqual(Array.from({ length: 200 }, (_, index) => `Unread: Email ${String(200 - index).padStart(5, '0')}`));
    expect(await rows(page).count()).toBeLessThanOrEqual(60);
  });

  it('moves through the whole list with the keyboard, scrolling the focused row into view', async () => {
    const reader = await live.createUser('Melba Roy Mouton');
    await fill(reader, 120, { quietly: true });
    const page = await live.signIn(await live.newContext(), reader);
    await eventually(() => loadedEmails(page)).toBe(50);
    const focusedSubject = () => page.evaluate(() => document.activeElement?.querySelector('.email-subject')?.textContent ?? '');
    await rows(page).first().locator('button').focus();
    await page.keyboard.press('ArrowDown');
    expect(await focusedSubject()).toBe('Unread: Email 00119');
    // End goes to the last loaded email, which loads the next page; End again goes further.
    await page.keyboard.press('End');
    expect(await focusedSubject()).toBe('Unread: Email 00071');
    await eventually(() => loadedEmails(page)).toBe(100);
    await page.keyboard.press('End');
    expect(await focusedSubject()).toBe('Unread: Email 00021');
    await page.keyboard.press('Home');
    expect(await focusedSubject()).toBe('Unread: Email 00120');
    await page.keyboard.press('PageDown');
    expect(await focusedSubject()).not.toBe('Unread: Email 00120');
    // Enter opens the focused email.
    const chosen = (await focusedSubject()).replace('Unread: ', '');
    await page.keyboard.press('Enter');
    await eventually(() => page.getByTestId('reader').locator('#reader-subject').textContent()).toBe(chosen);
  });
});
