import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  type Account,
  eventually,
  loadedEmails,
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
