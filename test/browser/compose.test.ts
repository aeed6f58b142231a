// The admin's compose dialog in headless Chromium, sending through the Worker's API to the real
// database, whose webhook announces each email to its recipient's open page.

import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { eventually, rows, saveScreenshot, toastWith, unreadCount, useLiveStack, viewports } from '../support/node/browser.ts';

const live = useLiveStack();

/** The recipient checkbox for `email` (labels show name and email; emails are unique). */
const recipient = (page: Page, email: string) => page.getByRole('checkbox', { name: new RegExp(email.replace(/\./g, '\\.')) });

describe('compose (admin)', () => {
  it('shows validation errors next to the field, from the browser and from the server', async () => {
    const leaving = await live.createUser('Hedy Lamarr');
    const admin = await live.signIn(await live.newContext(), live.admin);
    await admin.getByRole('button', { name: 'Compose' }).click();
    await admin.getByRole('button', { name: 'Send' }).click();
    await eventually(() => admin.locator('#compose-recipients-error').textContent()).toBe('Choose at least one recipient.');
    await eventually(() => admin.locator('#compose-subject-error').textContent()).toBe('Write a subject.');

    await recipient(admin, leaving.email).check();
    await admin.getByLabel('Subject').fill('x'.repeat(201));
    await admin.getByRole('button', { name: 'Send' }).click();
    await eventually(() => admin.locator('#compose-recipients-error').textContent()).toBe('');
    await eventually(() => admin.locator('#compose-subject-error').textContent()).toBe(
      'Keep the subject to at most 200 characters (it has 201).',
    );
    await eventually(() => admin.getByLabel('Subject').getAttribute('aria-invalid')).toBe('');

    // The recipient's account is deleted while the form still lists them: only the server knows.
    await live.db.query('delete from auth.users where id = $1', [leaving.id]);
    const subject = 'Welcome aboard';
    await admin.getByLabel('Subject').fill(subject);
    await admin.getByRole('button', { name: 'Send' }).click();
    await eventually(() => admin.locator('#compose-recipients-error').textContent()).toBe(
      `${leaving.name} (${leaving.email}) no longer has an account: untick them to send.`,
    );
    await eventually(() => admin.locator('#compose-subject-error').textContent()).toBe('');
    await eventually(() => admin.getByRole('dialog').isVisible()).toBe(true);
    const {
      rows: [stored],
    } = await live.db.query('select count(*)::int as n from public.emails where subject = $1', [subject]);
    expect(stored.n).toBe(0);
    await admin.setViewportSize(viewports.phone);
    await saveScreenshot(admin, 'compose-errors-phone');
  });

  it('sends to several recipients, and both see it at phone width', async () => {
    const [first, second] = await Promise.all([live.createUser('Joan Clarke'), live.createUser('Alan Turing')]);
    const admin = await live.signIn(await live.newContext(), live.admin);
    const pages = [
      await live.signIn(await live.newContext({ viewport: 'phone' }), first),
      await live.signIn(await live.newContext({ viewport: 'phone' }), second),
    ];
    await admin.getByRole('button', { name: 'Compose' }).click();
    await recipient(admin, first.email).check();
    await recipient(admin, second.email).check();
    await admin.getByLabel('Subject').fill('Team offsite');
    await admin.getByLabel('Message').fill('Friday at ten, in the big room.');
    await saveScreenshot(admin, 'compose-desktop');
    await admin.getByRole('button', { name: 'Send' }).click();
    await toastWith(admin, 'Sent “Team offsite” to 2 people.').waitFor();
    await eventually(() => admin.getByRole('dialog').isVisible()).toBe(false);

    for (const page of pages) {
      await toastWith(page, `New email from ${live.admin.name}: Team offsite`).waitFor();
      await eventually(() => unreadCount(page)).toBe(1);
      await eventually(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewports.phone.width);
    }
    // On a phone the open email replaces the list, with a way back.
    const [page] = pages;
    await rows(page!).first().getByRole('button').click();
    await eventually(() => page!.locator('#reader-body').textContent()).toBe('Friday at ten, in the big room.');
    await eventually(() => page!.getByTestId('inbox-list').isVisible()).toBe(false);
    await saveScreenshot(page!, 'reader-phone');
    await page!.getByRole('button', { name: '← Inbox' }).click();
    await eventually(() => page!.getByTestId('inbox-list').isVisible()).toBe(true);
  });
});
