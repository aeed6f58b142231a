// The inbox in headless Chromium on the real stack: live arrivals, reading, de-duplication,
// notifications, keyboard use and paging. Emails come from the admin's page (the API) or from plain
// SQL on `public.emails`, as psql or an import would insert them.

import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { EmailReceived, userChannel } from '../../functions/broadcast/events.ts';
import {
  eventually,
  loadedEmails,
  ready,
  recordToasts,
  rows,
  saveScreenshot,
  scrollThroughInbox,
  toastWith,
  unreadCount,
  useLiveStack,
  viewports,
} from '../support/node/browser.ts';

// No grace period, so a test can have the redelivery cron republish a row at once.
const live = useLiveStack({ workerVars: { REDELIVERY_GRACE_SECONDS: '0' } });

/** The row for email `id` (present at most once however often it arrives). */
const row = (page: Page, id: string) => page.locator(`[data-testid="email-row"][data-email-id="${id}"]`);

/** The subject of the row that has keyboard focus. */
const focusedSubject = (page: Page) =>
  page.evaluate(() => document.activeElement?.closest('li')?.querySelector('.email-subject')?.textContent);

describe('the live inbox', () => {
  it('shows what the admin sends at once, and a row inserted by plain SQL, with no reload', async () => {
    const [admin, ada, grace] = [live.admin, live.users[0]!, live.users[1]!];
    // A few emails first, so the screenshots show a lived-in inbox; one of them open.
    await live.insertEmail(admin, ada, 'Welcome to Tidings', 'Glad to have you here. New mail shows up the moment it is sent.');
    await live.insertEmail(grace, ada, 'Lunch on Friday?', 'The usual place, at noon?');
    const adminPage = await live.signIn(await live.newContext(), admin);
    const userPage = await live.signIn(await live.newContext(), ada);
    await rows(userPage).filter({ hasText: 'Welcome to Tidings' }).first().getByRole('button').click();
    await eventually(() => userPage.locator('#reader-subject').textContent()).toBe('Welcome to Tidings');
    await userPage.locator('[data-testid="email-row"].read', { hasText: 'Welcome to Tidings' }).first().waitFor();
    const before = await unreadCount(userPage);
    let reloads = 0;
    userPage.on('load', () => reloads++);

    const subject = 'Quarterly report';
    await adminPage.getByRole('button', { name: 'Compose' }).click();
    await adminPage.getByRole('checkbox', { name: new RegExp(ada.email) }).check();
    await adminPage.getByLabel('Subject').fill(subject);
    await adminPage.getByLabel('Message').fill('The numbers are in, and they look good.');
    await adminPage.getByRole('button', { name: 'Send' }).click();
    await toastWith(adminPage, `Sent “${subject}” to ${ada.name}.`).waitFor();

    // Toast in the live region (announced to screen readers), row at the top, badge and title.
    await toastWith(userPage, `New email from ${admin.name}: ${subject}`).waitFor();
    await eventually(() => userPage.getByTestId('toasts').getAttribute('aria-live')).toBe('polite');
    await eventually(() => rows(userPage).first().textContent()).toContain(subject);
    await eventually(() => rows(userPage).first().getAttribute('class')).toContain('unread');
    await eventually(() => unreadCount(userPage)).toBe(before + 1);
    await saveScreenshot(userPage, 'inbox-toast-desktop');

    const sqlSubject = 'Imported by SQL';
    await live.insertEmail(admin, ada, sqlSubject, 'Inserted with psql, not the API.');
    await toastWith(userPage, sqlSubject).waitFor();
    await eventually(() => rows(userPage).first().textContent()).toContain(sqlSubject);
    await eventually(() => unreadCount(userPage)).toBe(before + 2);
    await eventually(() => userPage.title()).toBe(`(${before + 2}) Inbox · Tidings`);
    expect(reloads).toBe(0);

    await userPage.setViewportSize(viewports.phone);
    // On a phone the open email fills the screen; go back to the list for the screenshot.
    await userPage.getByRole('button', { name: '← Inbox' }).click();
    await userPage.getByTestId('inbox-list').waitFor();
    await live.insertEmail(admin, ada, 'On the phone', 'Small screens too.');
    await toastWith(userPage, 'On the phone').waitFor();
    await eventually(() => userPage.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewports.phone.width);
    await saveScreenshot(userPage, 'inbox-toast-phone');
  });

  it('shows a redelivered email once and drops events that break the shared schema', async () => {
    const reader = await live.createUser('Katherine Johnson');
    const context = await live.newContext();
    const toasts = await recordToasts(context);
    const page = await live.signIn(context, reader);
    const dropped: string[] = [];
    page.on('console', (message) => {
      if (message.text().startsWith(`Ignored a malformed ${EmailReceived.name} event`)) dropped.push(message.text());
    });

    // Straight from the realtime server's HTTP API: one without most fields, and one whose fields
    // are all strings but whose id is no id (a strings-only check would let it through).
    await live.publishRaw(userChannel(reader.id), EmailReceived.name, { id: 'broken', sender_name: 'Nobody' });
    await live.publishRaw(userChannel(reader.id), EmailReceived.name, {
      id: 'not-an-id',
      sender_id: live.admin.id,
      sender_name: 'Mallory',
      subject: 'Malformed event',
      preview: 'x',
      created_at: new Date().toISOString(),
    });

    const first = await live.insertEmail(live.admin, reader, 'Imported by a batch job', 'From SQL.');
    await toastWith(page, 'Imported by a batch job').waitFor();
    const delivery = async () =>
      (await live.db.query(`select delivered_at, attempts from tidings.outbox where row_id = $1 and operation = 'INSERT'`, [first]))
        .rows[0];
    await eventually(delivery).toMatchObject({ delivered_at: expect.any(Date), attempts: 1 });
    // Published but, as far as the database knows, not delivered: the cron publishes it again.
    await live.db.query(`update tidings.outbox set delivered_at = null where row_id = $1 and operation = 'INSERT'`, [first]);
    await live.runCron();
    await eventually(delivery).toMatchObject({ delivered_at: expect.any(Date), attempts: 2 });

    // Events on a channel arrive in order: once this one shows, the redelivery has arrived too.
    await live.insertEmail(live.admin, reader, 'A second one', 'Second.');
    await toastWith(page, 'A second one').waitFor();
    await eventually(() => row(page, first).count()).toBe(1);
    await eventually(() => rows(page).count()).toBe(2);
    await eventually(() => unreadCount(page)).toBe(2);
    expect(await toasts(page)).toEqual([expect.stringContaining('Imported by a batch job'), expect.stringContaining('A second one')]);
    expect(dropped).toHaveLength(2);
  });

  it('renders an XSS payload in the subject and body as text', async () => {
    const reader = await live.createUser('Mary Jackson');
    const page = await live.signIn(await live.newContext(), reader);
    let dialogs = 0;
    page.on('dialog', (dialog) => {
      dialogs++;
      void dialog.dismiss();
    });
    const payload = '<img src=x onerror=alert(1)>';
    await live.insertEmail(live.admin, reader, payload, `<script>alert(2)</script>${payload}`);
    await toastWith(page, payload).waitFor();
    await eventually(() => rows(page).first().locator('.email-subject').textContent()).toBe(`Unread: ${payload}`);
    await rows(page).first().getByRole('button').click();
    await eventually(() => page.locator('#reader-subject').textContent()).toBe(payload);
    await eventually(() => page.locator('#reader-body').textContent()).toBe(`<script>alert(2)</script>${payload}`);
    await eventually(() => page.locator('main img, #toasts img').count()).toBe(0);
    expect(dialogs).toBe(0);
  });

  it('marks an email read when opened, and another tab of the same user follows', async () => {
    const reader = await live.createUser('Dorothy Vaughan');
    const id = await live.insertEmail(live.admin, reader, 'Read me', 'Body text.');
    const context = await live.newContext();
    const first = await live.signIn(context, reader);
    const second = await live.open(context);
    await ready(second);
    await eventually(() => unreadCount(second)).toBe(1);
    await eventually(() => second.title()).toBe('(1) Inbox · Tidings');

    await row(first, id).getByRole('button').click();
    await eventually(() => first.locator('#reader-body').textContent()).toBe('Body text.');
    await eventually(() => row(first, id).getAttribute('class')).not.toContain('unread');
    await eventually(() => row(second, id).getAttribute('class')).not.toContain('unread');
    await eventually(() => second.getByTestId('unread-badge').isHidden()).toBe(true);
    await eventually(() => second.title()).toBe('Inbox · Tidings');
    const {
      rows: [stored],
    } = await live.db.query('select read_at from public.emails where id = $1', [id]);
    expect(stored.read_at).toBeInstanceOf(Date);
  });

  it('adds a desktop notification only while the tab is hidden and notifications are allowed', async () => {
    const reader = await live.createUser('Annie Easley');
    const context = await live.newContext();
    // Headless Chromium neither shows notifications nor hides a tab: record what the page asks for,
    // and let the test decide whether the tab is hidden.
    await context.addInitScript(() => {
      const shown: Array<{ title: string; body?: string }> = [];
      class RecordingNotification extends EventTarget {
        static permission = 'granted';
        static requestPermission = async () => 'granted';
        constructor(title: string, options: { body?: string } = {}) {
          super();
          shown.push({ title, body: options.body });
        }
        close() {}
      }
      Object.assign(window, { Notification: RecordingNotification, shownNotifications: shown, tabHidden: false });
      Object.defineProperty(document, 'hidden', { get: () => (window as unknown as { tabHidden: boolean }).tabHidden });
    });
    const page = await live.signIn(context, reader);
    const shown = () => page.evaluate(() => (window as unknown as { shownNotifications: unknown[] }).shownNotifications);

    await live.insertEmail(live.admin, reader, 'While you look', 'Visible tab.');
    await toastWith(page, 'While you look').waitFor();
    await page.evaluate(() => Object.assign(window, { tabHidden: true }));
    await live.insertEmail(live.admin, reader, 'While you are away', 'Hidden tab.');
    await toastWith(page, 'While you are away').waitFor();
    await eventually(shown).toEqual([{ title: `New email from ${live.admin.name}`, body: 'While you are away' }]);

    // Hidden, but the user said no: a toast only.
    await page.evaluate(() =>
      Object.assign((window as unknown as { Notification: { permission: string } }).Notification, { permission: 'denied' }),
    );
    await live.insertEmail(live.admin, reader, 'Not allowed', 'Denied.');
    await toastWith(page, 'Not allowed').waitFor();
    expect(await shown()).toHaveLength(1);
  });

  it('works with the keyboard alone: skip link, arrow keys between rows, Enter to open', async () => {
    const reader = await live.createUser('Evelyn Boyd');
    for (const subject of ['Oldest', 'Middle', 'Newest']) await live.insertEmail(live.admin, reader, subject, `${subject} body.`);
    const context = await live.newContext({ colorScheme: 'dark' });
    const page = await live.signIn(context, reader);
    await eventually(() => rows(page).count()).toBe(3);
    // Right after signing in, focus moves to the inbox.
    await eventually(() => page.evaluate(() => document.activeElement?.id)).toBe('inbox-list');

    await page.reload();
    await ready(page);
    await page.keyboard.press('Tab');
    await eventually(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to the inbox');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    await eventually(() => focusedSubject(page)).toBe('Unread: Newest');
    await page.keyboard.press('ArrowDown');
    await eventually(() => focusedSubject(page)).toBe('Unread: Middle');
    await page.keyboard.press('Enter');
    await eventually(() => page.locator('#reader-body').textContent()).toBe('Middle body.');
    await eventually(() => unreadCount(page)).toBe(2);
    await eventually(() => focusedSubject(page)).toBe('Middle');
    await saveScreenshot(page, 'reader-dark-desktop');
    await page.keyboard.press('Escape');
    await eventually(() => page.locator('#reader-content').isHidden()).toBe(true);
  });

  it('takes a deleted email off the open inbox, also when its webhook was lost and the cron delivers the delete', async () => {
    const reader = await live.createUser('Radia Perlman');
    const kept = await live.insertEmail(live.admin, reader, 'Stays', 'This one stays.');
    const doomed = await live.insertEmail(live.admin, reader, 'Deleted while you look', 'Gone soon.');
    const lost = await live.insertEmail(live.admin, reader, 'Deleted while the Worker is unreachable', 'Gone later.');
    const page = await live.signIn(await live.newContext(), reader);
    await eventually(() => rows(page).count()).toBe(3);

    await live.db.query('delete from public.emails where id = $1', [doomed]);
    await eventually(() => row(page, doomed).count()).toBe(0);

    // The database cannot reach the Worker: the delete's webhook fails, and pg_net never retries.
    const { rows: setting } = await live.db.query(`select value from private.settings where name = 'webhook_url'`);
    await live.db.query(`update private.settings set value = 'http://127.0.0.1:9/webhooks/db' where name = 'webhook_url'`);
    try {
      await live.db.query('delete from public.emails where id = $1', [lost]);
      const failedWebhook = async () =>
        (
          await live.db.query(
            `select count(*)::int as n from net._http_response where error_msg is not null and created > now() - interval '1 minute'`,
          )
        ).rows[0].n;
      await eventually(failedWebhook).toBeGreaterThan(0);
    } finally {
      await live.db.query(`update private.settings set value = $1 where name = 'webhook_url'`, [setting[0].value]);
    }
    expect(await row(page, lost).count()).toBe(1);
    await live.runCron();
    await eventually(() => row(page, lost).count()).toBe(0);
    expect(await row(page, kept).count()).toBe(1);
  });

  it('shows an empty inbox’s message in the middle of the pane, and the first email in its place', async () => {
    const reader = await live.createUser('Sophie Wilson');
    const page = await live.signIn(await live.newContext(), reader);
    const message = page.locator('#inbox-empty');
    await message.waitFor();
    const pane = (await page.locator('section.inbox').boundingBox())!;
    const box = (await message.boundingBox())!;
    // Its middle is near the pane's (the header above it moves it down a little), not at the bottom.
    expect(Math.abs(box.y + box.height / 2 - (pane.y + pane.height / 2))).toBeLessThan(pane.height * 0.15);
    const first = await live.insertEmail(live.admin, reader, 'The first one', 'Welcome.');
    await eventually(() => row(page, first).isVisible()).toBe(true);
    expect(await message.isHidden()).toBe(true);
  });

  it('takes the "New email" toast of an email deleted while it shows away with the email, and leaves the others', async () => {
    const reader = await live.createUser('Frances Allen');
    const page = await live.signIn(await live.newContext(), reader);
    const doomed = await live.insertEmail(live.admin, reader, 'Sent by mistake', 'Withdrawn in a moment.');
    await toastWith(page, 'Sent by mistake').waitFor();
    await live.insertEmail(live.admin, reader, 'Sent on purpose', 'Stays.');
    await toastWith(page, 'Sent on purpose').waitFor();
    // The pointer on it stops its timer: only the deletion can take it away now.
    await toastWith(page, 'Sent by mistake').hover();
    await live.db.query('delete from public.emails where id = $1', [doomed]);
    await eventually(() => row(page, doomed).count()).toBe(0);
    // Well within the 7 s a toast stays: it left with its email, not on its timer.
    await expect.poll(() => toastWith(page, 'Sent by mistake').count(), { timeout: 2000, interval: 50 }).toBe(0);
    expect(await toastWith(page, 'Sent on purpose').count()).toBe(1);
  });

  it('moves keyboard focus to the next email when the focused one is deleted elsewhere, and says so if it was open', async () => {
    for (const viewport of ['desktop', 'phone'] as const) {
      const reader = await live.createUser(`Sophie Wilson ${viewport}`);
      for (const subject of ['Oldest', 'Middle', 'Newest']) await live.insertEmail(live.admin, reader, subject, `${subject} body.`);
      const context = await live.newContext({ viewport });
      const toasts = await recordToasts(context);
      const page = await live.signIn(context, reader);
      await eventually(() => rows(page).count()).toBe(3);
      // Opening it marks it read; that request goes out only after the email is gone (a 404).
      let deleted!: () => void;
      const gone = new Promise<void>((resolve) => (deleted = resolve));
      await page.route(/\/api\/emails\/[^/]+\/read$/, async (route) => {
        await gone;
        await route.continue();
      });
      const markRead = page.waitForResponse(/\/api\/emails\/[^/]+\/read$/);
      await rows(page).first().locator('button').focus();
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      await eventually(() => page.locator('#reader-subject').textContent()).toBe('Middle');

      // Deleted in another tab (or by anyone, with SQL) while it is open and focused.
      await live.db.query(`delete from public.emails where recipient_id = $1 and subject = 'Middle'`, [reader.id]);
      await toastWith(page, '“Middle” was deleted.').waitFor();
      await eventually(() => focusedSubject(page)).toBe('Unread: Oldest');
      expect(await page.locator('#reader-content').isHidden()).toBe(true);
      deleted();
      expect((await markRead).status()).toBe(404);
      // The late 404 says nothing more than the deletion did (a later arrival marks that the page
      // has handled the answer).
      await live.insertEmail(live.admin, reader, 'After the deletion', 'Later.');
      await eventually(() => rows(page).first().locator('.email-subject').textContent()).toBe('Unread: After the deletion');
      expect((await toasts(page)).filter((text) => text.includes('Could not') || text.includes('was deleted'))).toEqual([
        '“Middle” was deleted.×',
      ]);
      // The keyboard carries on from there.
      await page.keyboard.press('ArrowUp');
      expect(await focusedSubject(page)).toBe('Unread: Newest');
      if (viewport === 'phone') await saveScreenshot(page, 'reader-deleted-phone');
    }
  });

  it('loads older pages on demand, also after a late redelivery of an old email', async () => {
    const reader = await live.createUser('Gladys West');
    // Sixty emails a second apart, oldest first, in one statement (as an import would).
    await live.db.query(
      `insert into public.emails (sender_id, recipient_id, subject, body, created_at)
       select $1, $2, 'Email number ' || n, 'Body ' || n, now() - (60 - n) * interval '1 second' from generate_series(1, 60) as n`,
      [live.admin.id, reader.id],
    );
    // Each insert's webhook announces it; let them all finish before the page opens, so the page
    // pages through the API and no late live event brings in an old row on its own.
    await eventually(() => live.deliveredEmails(reader)).toBe(60);
    const page = await live.signIn(await live.newContext(), reader);
    await eventually(() => loadedEmails(page)).toBe(50);
    await eventually(() => rows(page).first().locator('.email-subject').textContent()).toBe('Unread: Email number 60');
    // The first page only: nothing scrolled near its end yet.
    expect(await loadedEmails(page)).toBe(50);

    // The cron republishes an old email (as if its first delivery was never recorded): the page
    // shows it, and older pages must still continue below the first page, not below that email.
    await live.db.query(
      `update tidings.outbox set delivered_at = null where operation = 'INSERT'
       and row_id = (select id::text from public.emails where recipient_id = $1 and subject = 'Email number 5')`,
      [reader.id],
    );
    await live.runCron();
    await toastWith(page, 'Email number 5').waitFor();
    await eventually(() => loadedEmails(page)).toBe(51);
    // Scrolling to the end loads the rest by itself.
    expect(await scrollThroughInbox(page)).toEqual(Array.from({ length: 60 }, (_, index) => `Unread: Email number ${60 - index}`));
    await eventually(() => page.getByRole('button', { name: 'Load older' }).isHidden()).toBe(true);
  });
  it('loads older pages when emails share one created_at, as rows inserted in one transaction do', async () => {
    const reader = await live.createUser('Katherine Johnson');
    // now() is the transaction's start time: all sixty rows get the same created_at.
    await live.db.query(
      `insert into public.emails (sender_id, recipient_id, subject, body)
       select $1, $2, 'Batch ' || n, 'Body ' || n from generate_series(1, 60) as n`,
      [live.admin.id, reader.id],
    );
    // A later email on top, so the batch is not the newest (the reconnect catch-up fetches all of
    // the newest created_at): the first page ends inside the batch.
    await live.insertEmail(live.admin, reader, 'After the batch', 'Later.');
    await eventually(() => live.deliveredEmails(reader)).toBe(61);
    const page = await live.signIn(await live.newContext(), reader);
    await eventually(() => loadedEmails(page)).toBe(50);
    const subjects = await scrollThroughInbox(page);
    expect(subjects).toHaveLength(61);
    expect(new Set(subjects).size).toBe(61);
    await eventually(() => page.getByRole('button', { name: 'Load older' }).isHidden()).toBe(true);
  });

  it('shows at most three lines of a long subject in its arrival toast, on a phone too, keeping the whole text', async () => {
    const reader = await live.createUser('Mary Kenneth Keller');
    const page = await live.signIn(await live.newContext({ viewport: 'phone' }), reader);
    const subject = `Quarterly ${'report '.repeat(27)}end`.slice(0, 200);
    await live.insertEmail(live.admin, reader, subject, 'Long subject.');
    const shown = toastWith(page, 'Quarterly report');
    await shown.waitFor();
    const text = shown.locator('.toast-text');
    const lineHeight = await text.evaluate((element) => Number.parseFloat(getComputedStyle(element).lineHeight));
    expect((await text.boundingBox())!.height).toBeLessThanOrEqual(3 * lineHeight + 1);
    expect(await text.textContent()).toContain(subject);
  });

  it('grows one summary toast with mail that follows at once, and toasts later mail on its own', async () => {
    const reader = await live.createUser('Evelyn Boyd Granville');
    const context = await live.newContext();
    // The page's clock runs as usual, and can be moved past the summary's window without waiting.
    await context.clock.install();
    const page = await live.signIn(context, reader);
    const importRows = (from: number, to: number) =>
      live.db.query(
        `insert into public.emails (sender_id, recipient_id, subject, body)
         select $1, $2, 'Imported ' || n, 'Body ' || n from generate_series($3::int, $4::int) as n`,
        [live.admin.id, reader.id, from, to],
      );
    // An import in two statements (or one of 150 rows, which arrives as two events).
    await importRows(1, 100);
    await toastWith(page, '100 new emails arrived.').waitFor();
    await importRows(101, 150);
    await eventually(() => unreadCount(page)).toBe(150);
    await eventually(() => toastWith(page, 'new emails arrived').allTextContents()).toEqual([
      expect.stringContaining('150 new emails arrived.'),
    ]);
    // Well after the import, an email of its own gets its own toast.
    await page.clock.fastForward(2500);
    await live.insertEmail(live.admin, reader, 'After the import', 'On its own.');
    await toastWith(page, 'New email from').filter({ hasText: 'After the import' }).waitFor();
    expect(await toastWith(page, 'new emails arrived').allTextContents()).toEqual([expect.stringContaining('150 new emails arrived.')]);
  });

  it('shows an import of many emails at once, rendered together under one summary toast', async () => {
    const reader = await live.createUser('Annie Easley');
    const context = await live.newContext();
    const shownToasts = await recordToasts(context);
    const page = await live.signIn(context, reader);
    await live.insertEmail(live.admin, reader, 'Before the import', 'One on its own.');
    await toastWith(page, 'New email from').waitFor();
    await live.db.query(
      `insert into public.emails (sender_id, recipient_id, subject, body)
       select $1, $2, 'Imported ' || n, 'Body ' || n from generate_series(1, 40) as n`,
      [live.admin.id, reader.id],
    );
    await eventually(() => loadedEmails(page)).toBe(41);
    await eventually(() => unreadCount(page)).toBe(41);
    // The forty arrive within milliseconds of each other: one summary toast, not forty. A slow
    // machine may split them into bursts, hence the sum and the room for a few single toasts.
    const toasts = await shownToasts(page);
    const single = toasts.filter((text) => text.includes('Imported')).length;
    const summaries = toasts.flatMap((text) => /(\d+) new emails arrived\./.exec(text)?.[1] ?? []);
    expect(summaries.length).toBeGreaterThan(0);
    expect(single).toBeLessThanOrEqual(3);
    expect(summaries.reduce((sum, count) => sum + Number(count), 0) + single).toBe(40);
  });
});
