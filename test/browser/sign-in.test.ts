// Signing in and out in headless Chromium, against the local Supabase's Auth through the real page.
import { describe, expect, it } from 'vitest';
import { collectPageErrors, eventually, ready, saveScreenshot, useLiveStack, viewports } from '../support/node/browser.ts';

const live = useLiveStack();

describe('the sign-in page', () => {
  it('lists the development accounts, is keyboard reachable, fits desktop and phone widths, and signs in with one click', async () => {
    const page = await (await live.newContext()).newPage();
    const errors = collectPageErrors(page);
    await page.goto(live.url);

    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    const listed = page.getByTestId('dev-user');
    await eventually(() => listed.locator('.dev-user-email').allTextContents()).toEqual(live.devUsers.map((user) => user.email));
    await eventually(() => listed.locator('.role-tag').allTextContents()).toEqual(live.devUsers.map((user) => user.role));
    // The email field has focus on load; Tab walks through the form in order, then the accounts.
    const focused = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.textContent?.trim());
    await eventually(focused).toBe('sign-in-email');
    await page.keyboard.press('Tab');
    await eventually(focused).toBe('sign-in-password');
    await page.keyboard.press('Tab');
    await eventually(focused).toBe('sign-in-submit');
    await page.keyboard.press('Tab');
    await eventually(focused).toContain(live.devUsers[0]!.email);
    await saveScreenshot(page, 'sign-in-desktop');
    await page.setViewportSize(viewports.phone);
    await saveScreenshot(page, 'sign-in-phone');
    // Nothing overflows sideways at phone width.
    await eventually(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewports.phone.width);

    await listed.filter({ hasText: live.admin.email }).click();
    await ready(page);
    await eventually(() => page.getByTestId('me').textContent()).toContain(live.admin.name);
    await eventually(() => page.getByRole('button', { name: 'Compose' }).isVisible()).toBe(true);
    expect(errors).toEqual([]);
  });

  it('signs in with the keyboard, keeps the session across a reload, and signs out', async () => {
    const user = live.users[0]!;
    const page = await (await live.newContext()).newPage();
    await page.goto(live.url);
    await page.locator('#sign-in-email:focus').waitFor();
    await page.keyboard.type(user.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(user.password);
    await page.keyboard.press('Enter');
    await ready(page);
    await eventually(() => page.getByTestId('me').textContent()).toContain(user.name);

    await page.reload();
    await ready(page);
    await eventually(() => page.getByTestId('me').textContent()).toContain(user.name);
    // A user, not an admin: no compose button.
    await eventually(() => page.getByRole('button', { name: 'Compose' }).isVisible()).toBe(false);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await eventually(() => page.getByTestId('me').isVisible()).toBe(false);
  });

  it('says so next to the form when the password is wrong', async () => {
    const page = await (await live.newContext()).newPage();
    await page.goto(live.url);
    await page.getByRole('textbox', { name: 'Email' }).fill(live.users[0]!.email);
    await page.getByLabel('Password', { exact: true }).fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await eventually(() => page.getByRole('alert').filter({ hasText: 'Invalid login credentials' }).isVisible()).toBe(true);
    await eventually(() => page.getByRole('textbox', { name: 'Email' }).isVisible()).toBe(true);
  });
});
