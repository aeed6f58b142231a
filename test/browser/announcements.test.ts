// Admin announcements in headless Chromium on the real stack: the admin's form posts one, and every
// signed-in page shows it at once (banner and toast), or after a reconnect if it was offline.

import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { eventually, networkSwitch, saveScreenshot, toastWith, useLiveStack } from '../support/node/browser.ts';

const live = useLiveStack();

const banner = (page: Page) => page.getByTestId('announcement-banner');

async function announce(page: Page, title: string, body: string): Promise<void> {
  await page.getByRole('button', { name: 'Announce', exact: true }).click();
  await page.getByLabel('Announcement title').fill(title);
  await page.getByLabel('Announcement text').fill(body);
  await page.locator('#announce-send').click();
  await toastWith(page, `Announced “${title}” to everyone.`).waitFor();
}

describe('announcements', () => {
  it('reaches two signed-in users’ pages from the admin’s page, as a banner and a toast', async () => {
    const [ada, grace] = [live.users[0]!, live.users[1]!];
    const adminPage = await live.signIn(await live.newContext(), live.admin);
    const adaPage = await live.signIn(await live.newContext(), ada);
    const gracePage = await live.signIn(await live.newContext(), grace);
    // Users have no Announce button; the Worker refuses them all the same.
    expect(await adaPage.getByRole('button', { name: 'Announce', exact: true }).isHidden()).toBe(true);

    await announce(adminPage, 'Office closed Friday', 'Enjoy the long weekend.');
    for (const page of [adaPage, gracePage]) {
      await toastWith(page, 'Announcement: Office closed Friday').waitFor();
      await eventually(() => banner(page).textContent()).toContain('Office closed Friday');
      await eventually(() => banner(page).textContent()).toContain('Enjoy the long weekend.');
    }
    await adaPage.getByRole('button', { name: 'Dismiss the announcement' }).click();
    await eventually(() => banner(adaPage).isHidden()).toBe(true);
  });

  it('shows a long announcement readably at phone width: the text under the title, not in a column beside it', async () => {
    const reader = await live.createUser('Adele Goldberg');
    const page = await live.signIn(await live.newContext({ viewport: 'phone' }), reader);
    await live.db.query(`insert into public.announcements (sender_id, title, body) values ($1, $2, $3)`, [
      live.admin.id,
      'Maintenance tonight from 22:00 for about an hour: please save your drafts',
      'The mailbox will be read-only while the database is upgraded. New mail waits and arrives afterwards.',
    ]);
    // The banner, not the toast: the page may subscribe to announcements just after this insert, and
    // then shows it from its first catch-up, which makes no toast.
    await eventually(() => banner(page).textContent()).toContain('Maintenance tonight');
    const title = (await page.locator('#announcement-title').boundingBox())!;
    const text = (await page.locator('#announcement-body').boundingBox())!;
    expect(text.y).toBeGreaterThanOrEqual(title.y + title.height - 1);
    expect(text.x).toBeCloseTo(title.x, 0);
    // About as wide as the title: a few lines, not a word per line.
    expect(text.width).toBeGreaterThan(title.width * 0.8);
    await saveScreenshot(page, 'announcement-phone');
  });

  it('keeps the inbox in sight under the longest announcement, which scrolls inside its banner', async () => {
    const reader = await live.createUser('Lynn Conway');
    const kept = await live.insertEmail(live.admin, reader, 'Still in sight', 'Under a long announcement.');
    const title = 'T'.repeat(200);
    const text = 'A long announcement, at the 2,000-character limit. '.repeat(40).slice(0, 2000);
    await live.db.query(`insert into public.announcements (sender_id, title, body) values ($1, $2, $3)`, [live.admin.id, title, text]);
    for (const viewport of ['desktop', 'phone'] as const) {
      const page = await live.signIn(await live.newContext({ viewport }), reader);
      await eventually(() => banner(page).textContent()).toContain(title);
      const window = page.viewportSize()!;
      const box = (await banner(page).boundingBox())!;
      expect(box.height).toBeLessThanOrEqual(window.height / 3 + 1);
      // The rest of the text is reached by scrolling the banner, and the inbox row stays on screen.
      expect(await banner(page).evaluate((element) => element.scrollHeight > element.clientHeight)).toBe(true);
      const row = (await page.locator(`[data-testid="email-row"][data-email-id="${kept}"]`).boundingBox())!;
      expect(row.y + row.height).toBeLessThanOrEqual(window.height);
      expect(await page.getByRole('button', { name: 'Dismiss the announcement' }).isVisible()).toBe(true);
      await saveScreenshot(page, `announcement-longest-${viewport}`);
    }
  });

  it('remembers a dismissed announcement across reloads and tabs, for the user who dismissed it, and shows the next one', async () => {
    const reader = await live.createUser('Barbara Liskov');
    const context = await live.newContext();
    const page = await live.signIn(context, reader);
    const insert = (title: string) =>
      live.db.query(`insert into public.announcements (sender_id, title, body) values ($1, $2, '')`, [live.admin.id, title]);
    await insert('Dismiss me once');
    await eventually(() => banner(page).textContent()).toContain('Dismiss me once');
    await page.getByRole('button', { name: 'Dismiss the announcement' }).click();
    await page.reload();
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor();
    const second = await context.newPage();
    await second.goto(page.url());
    await second.locator('[data-testid="connection"][data-state="connected"]').waitFor();
    for (const shown of [page, second]) {
      await eventually(() => banner(shown).getAttribute('data-announcement-id')).not.toBeNull();
      expect(await banner(shown).isHidden()).toBe(true);
    }
    // Someone else signing in on this browser still sees it.
    await second.close();
    await page.getByRole('button', { name: 'Sign out' }).click();
    const other = await live.signIn(context, await live.createUser('Hamilton Smith'));
    await eventually(() => banner(other).textContent()).toContain('Dismiss me once');
    await eventually(() => banner(other).isHidden()).toBe(false);
    await insert('The next one');
    await eventually(() => banner(other).textContent()).toContain('The next one');
  });

  it('shows an announcement made while the page was offline once it reconnects', async () => {
    const reader = await live.createUser('Frances Allen');
    const adminPage = await live.signIn(await live.newContext(), live.admin);
    const context = await live.newContext();
    const network = await networkSwitch(context);
    const page = await live.signIn(context, reader);
    await eventually(() => page.getByTestId('connection').textContent()).toContain('Live');

    await network.off();
    await page.locator('[data-testid="connection"][data-state="offline"]').waitFor();
    await announce(adminPage, 'Sent while you were away', 'Catch up on reconnect.');
    expect(await banner(page).textContent()).not.toContain('Sent while you were away');

    await network.on();
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 30_000 });
    await eventually(() => banner(page).textContent()).toContain('Sent while you were away');
  });

  it('says what is wrong next to the field, from the browser’s check or the Worker’s', async () => {
    const adminPage = await live.signIn(await live.newContext(), live.admin);
    await adminPage.getByRole('button', { name: 'Announce', exact: true }).click();
    await adminPage.locator('#announce-send').click();
    await eventually(() => adminPage.locator('#announce-title-error').textContent()).toBe('Write a title.');
    await adminPage.getByLabel('Announcement title').fill('Fine');
    await adminPage.getByLabel('Announcement text').fill('x'.repeat(2001));
    await adminPage.locator('#announce-send').click();
    await eventually(() => adminPage.locator('#announce-body-error').textContent()).toBe('Keep the message to at most 2,000 characters.');
    // What only the Worker checks (a NUL character, which Postgres text cannot hold) comes back as
    // its 400's issue, shown next to the same field.
    await adminPage.getByLabel('Announcement text').fill('Fine too');
    await adminPage.getByLabel('Announcement title').evaluate((input: HTMLInputElement) => {
      input.value = 'a\u0000b';
    });
    await adminPage.locator('#announce-send').click();
    await eventually(() => adminPage.locator('#announce-title-error').textContent()).toBe(
      'title must not contain the NUL character (\\u0000), which the database cannot store',
    );
  });
});
