import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { collectPageErrors, launchBrowser, saveScreenshot, viewports } from '../support/browser.ts';
import { ScriptedBackend } from '../support/scripted-backend.ts';
import { startWorker, type RunningWorker } from '../support/worker.ts';

// The web client in headless Chromium, served by the real Worker, against a scripted API, Supabase
// Auth and Pusher server that follow the shared contract (see test/support/scripted-backend.ts).
// The same behaviours against the real stack are in test/browser/live-inbox.*.

let worker: RunningWorker;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [worker, browser] = await Promise.all([startWorker(), launchBrowser()]);
});
afterAll(async () => {
  await browser?.close();
  await worker?.stop();
});
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

function seed(): ScriptedBackend {
  return new ScriptedBackend([
    { email: 'ada@tidings.test', display_name: 'Ada Lovelace', role: 'admin' },
    { email: 'grace@tidings.test', display_name: 'Grace Hopper', role: 'user' },
    { email: 'alan@tidings.test', display_name: 'Alan Turing', role: 'user' },
  ]);
}

/** A fresh profile (own storage) with the scripted backend installed, at a viewport. */
async function newContext(backend: ScriptedBackend, viewport: keyof typeof viewports = 'desktop'): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: viewports[viewport], reducedMotion: 'reduce' });
  contexts.push(context);
  await backend.install(context, worker.url);
  return context;
}

async function signIn(context: BrowserContext, email: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(worker.url);
  await page.getByRole('textbox', { name: 'Email' }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill('password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await ready(page);
  return page;
}

/** Waits until the inbox is loaded and the live connection is up. */
async function ready(page: Page): Promise<void> {
  await page.locator('[data-testid="inbox-list"][aria-busy="false"]').waitFor();
  await page.locator('[data-testid="connection"][data-state="connected"]').waitFor();
}

/** Polls until the value matches: the page updates asynchronously (events, fetches, rendering). */
function eventually<T>(read: () => Promise<T>) {
  return expect.poll(read, { timeout: 10_000, interval: 50 });
}

const rows = (page: Page) => page.locator('[data-testid="email-row"]');
const badge = (page: Page) => page.getByTestId('unread-badge');

describe('the sign-in page', () => {
  it('lists the development accounts, is keyboard reachable, and fits desktop and phone widths', async () => {
    const backend = seed();
    const context = await newContext(backend);
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(worker.url);

    await eventually(() => page.getByRole('heading', { name: 'Sign in' }).isVisible()).toBe(true);
    await eventually(() => page.getByTestId('dev-user').allTextContents()).toEqual([
      'ADada@tidings.testadmin', 'GRgrace@tidings.testuser', 'ALalan@tidings.testuser',
    ]);
    // The email field has focus on load; Tab walks through the form in order.
    const focused = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.textContent?.trim());
    await eventually(() => focused()).toBe('sign-in-email');
    await page.keyboard.press('Tab');
    await eventually(() => focused()).toBe('sign-in-password');
    await page.keyboard.press('Tab');
    await eventually(() => focused()).toBe('sign-in-submit');
    await page.keyboard.press('Tab');
    await eventually(() => focused()).toContain('ada@tidings.test');
    await saveScreenshot(page, 'sign-in-desktop');
    await page.setViewportSize(viewports.phone);
    await saveScreenshot(page, 'sign-in-phone');
    // Nothing overflows sideways at phone width.
    await eventually(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewports.phone.width);
    expect(errors).toEqual([]);
  });

  it('signs in with the keyboard, keeps the session across a reload, and signs out', async () => {
    const backend = seed();
    const context = await newContext(backend);
    const page = await context.newPage();
    await page.goto(worker.url);
    await page.locator('#sign-in-email:focus').waitFor();
    await page.keyboard.type('grace@tidings.test');
    await page.keyboard.press('Tab');
    await page.keyboard.type('password');
    await page.keyboard.press('Enter');
    await eventually(() => page.getByTestId('me').textContent()).toContain('Grace Hopper');

    await page.reload();
    await eventually(() => page.getByTestId('me').textContent()).toContain('Grace Hopper');
    await eventually(() => page.getByRole('button', { name: 'Compose' }).isVisible()).toBe(false);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  });

  it('says so next to the form when the password is wrong', async () => {
    const backend = seed();
    const page = await (await newContext(backend)).newPage();
    await page.goto(worker.url);
    await page.getByRole('textbox', { name: 'Email' }).fill('grace@tidings.test');
    await page.getByLabel('Password', { exact: true }).fill('wrong');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await eventually(() => page.getByRole('alert').filter({ hasText: 'Invalid login credentials' }).isVisible()).toBe(true);
  });
});

describe('the live inbox', () => {
  it('shows an email the admin sends at once: toast, row at the top and badge, with no reload', async () => {
    const backend = seed();
    const ada = backend.user('ada@tidings.test');
    const grace = backend.user('grace@tidings.test');
    backend.insert(ada, grace, 'Welcome to Tidings', 'Glad to have you here. New mail shows up the moment it is sent.').read_at = new Date().toISOString();
    backend.insert(backend.user('alan@tidings.test'), grace, 'Lunch on Friday?', 'The usual place, at noon?');
    backend.insert(ada, grace, 'Design review notes', 'Thanks everyone for the review.\n\nThe decisions:\n1. One Worker serves everything.\n2. Clients fetch what they missed on every reconnect.\n3. Duplicates are dropped by email id.');
    const admin = await signIn(await newContext(backend), 'ada@tidings.test');
    await signIn(await newContext(backend), 'alan@tidings.test');
    const user = await signIn(await newContext(backend), 'grace@tidings.test');
    await eventually(() => rows(user).count()).toBe(3);
    await eventually(() => badge(user).textContent()).toBe('2');
    await eventually(() => user.title()).toBe('(2) Inbox · Tidings');
    await rows(user).first().getByRole('button').click();
    await eventually(() => badge(user).textContent()).toBe('1');
    let reloads = 0;
    user.on('load', () => reloads++);

    await admin.getByRole('button', { name: 'Compose' }).click();
    await admin.getByRole('checkbox', { name: /Grace Hopper/ }).check();
    await admin.getByLabel('Subject').fill('Quarterly report');
    await admin.getByLabel('Message').fill('The numbers are in, and they look good.');
    await admin.getByRole('button', { name: 'Send' }).click();
    await admin.getByTestId('toast').filter({ hasText: 'Sent “Quarterly report” to Grace Hopper.' }).waitFor();

    const toast = user.getByTestId('toast').filter({ hasText: 'New email from Ada Lovelace: Quarterly report' });
    await toast.waitFor();
    await eventually(() => user.getByTestId('toasts').getAttribute('aria-live')).toBe('polite');
    await eventually(() => rows(user).first().textContent()).toContain('Quarterly report');
    await eventually(() => rows(user).first().getAttribute('class')).toContain('unread');
    await eventually(() => badge(user).textContent()).toBe('2');
    await eventually(() => user.title()).toBe('(2) Inbox · Tidings');
    await eventually(() => rows(user).count()).toBe(4);
    await saveScreenshot(user, 'client-inbox-toast-desktop');
    expect(reloads).toBe(0);
  });

  it('shows a row inserted by any other source, a redelivered event only once, and no malformed event', async () => {
    const backend = seed();
    const user = await signIn(await newContext(backend), 'grace@tidings.test');
    // A payload that breaks the event's schema is dropped, not rendered.
    backend.publishRaw(`private-user.${backend.user('grace@tidings.test').id}`, 'email.received', { id: 'broken', sender_name: 'Nobody' });
    const email = backend.insert(backend.user('ada@tidings.test'), backend.user('grace@tidings.test'), 'Imported by a batch job', 'From SQL.');
    await user.getByTestId('toast').filter({ hasText: 'Imported by a batch job' }).waitFor();
    backend.broadcastReceived(email);
    backend.insert(backend.user('ada@tidings.test'), backend.user('grace@tidings.test'), 'A second one', 'Second.');
    await user.getByTestId('toast').filter({ hasText: 'A second one' }).waitFor();
    await eventually(() => rows(user).allTextContents()).toHaveLength(2);
    await eventually(() => user.getByTestId('toast').count()).toBe(2);
    await eventually(() => badge(user).textContent()).toBe('2');
  });

  it('renders an XSS payload in the subject and body as text', async () => {
    const backend = seed();
    const user = await signIn(await newContext(backend), 'grace@tidings.test');
    let dialogs = 0;
    user.on('dialog', (dialog) => {
      dialogs++;
      void dialog.dismiss();
    });
    const payload = '<img src=x onerror=alert(1)>';
    backend.insert(backend.user('ada@tidings.test'), backend.user('grace@tidings.test'), payload, `<script>alert(2)</script>${payload}`);
    await user.getByTestId('toast').filter({ hasText: payload }).waitFor();
    await eventually(() => rows(user).first().locator('.email-subject').textContent()).toBe(`Unread: ${payload}`);
    await rows(user).first().getByRole('button').click();
    await eventually(() => user.locator('#reader-subject').textContent()).toBe(payload);
    await eventually(() => user.locator('#reader-body').textContent()).toBe(`<script>alert(2)</script>${payload}`);
    await eventually(() => user.locator('main img, #toasts img').count()).toBe(0);
    expect(dialogs).toBe(0);
  });

  it('marks an email read when opened, and another tab of the same user follows', async () => {
    const backend = seed();
    backend.insert(backend.user('ada@tidings.test'), backend.user('grace@tidings.test'), 'Read me', 'Body text.');
    const context = await newContext(backend);
    const first = await signIn(context, 'grace@tidings.test');
    const second = await context.newPage();
    await second.goto(worker.url);
    await ready(second);
    await eventually(() => badge(second).textContent()).toBe('1');

    await rows(first).first().getByRole('button').click();
    await eventually(() => first.locator('#reader-body').textContent()).toBe('Body text.');
    await first.locator('[data-testid="email-row"].read').waitFor();
    await second.locator('[data-testid="email-row"].read').waitFor();
    await eventually(() => badge(second).isHidden()).toBe(true);
    await eventually(() => second.title()).toBe('Inbox · Tidings');
  });

  it('adds a desktop notification only while the tab is hidden and notifications are allowed', async () => {
    const backend = seed();
    const context = await newContext(backend);
    // Record notifications instead of showing them, and let the test decide whether the tab is hidden.
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
    const user = await signIn(context, 'grace@tidings.test');
    const shown = () => user.evaluate(() => (window as unknown as { shownNotifications: unknown[] }).shownNotifications);
    const ada = backend.user('ada@tidings.test');
    const grace = backend.user('grace@tidings.test');

    backend.insert(ada, grace, 'While you look', 'Visible tab.');
    await user.getByTestId('toast').filter({ hasText: 'While you look' }).waitFor();
    await user.evaluate(() => Object.assign(window, { tabHidden: true }));
    backend.insert(ada, grace, 'While you are away', 'Hidden tab.');
    await user.getByTestId('toast').filter({ hasText: 'While you are away' }).waitFor();
    await eventually(shown).toEqual([{ title: 'New email from Ada Lovelace', body: 'While you are away' }]);
  });

  it('works with the keyboard alone: skip link, arrow keys between rows, Enter to open', async () => {
    const backend = seed();
    const ada = backend.user('ada@tidings.test');
    const grace = backend.user('grace@tidings.test');
    for (const subject of ['Oldest', 'Middle', 'Newest']) backend.insert(ada, grace, subject, `${subject} body.`);
    const context = await browser.newContext({ viewport: viewports.desktop, reducedMotion: 'reduce', colorScheme: 'dark' });
    contexts.push(context);
    await backend.install(context, worker.url);
    const user = await signIn(context, 'grace@tidings.test');
    await eventually(() => rows(user).count()).toBe(3);
    // Right after signing in, focus moves to the inbox.
    await eventually(() => user.evaluate(() => document.activeElement?.id)).toBe('inbox-list');

    await user.reload();
    await ready(user);
    await user.keyboard.press('Tab');
    await eventually(() => user.evaluate(() => document.activeElement?.textContent)).toBe('Skip to the inbox');
    await user.keyboard.press('Enter');
    await user.keyboard.press('Tab');
    const focusedRow = () => user.evaluate(() => document.activeElement?.closest('li')?.querySelector('.email-subject')?.textContent);
    await eventually(focusedRow).toBe('Unread: Newest');
    await user.keyboard.press('ArrowDown');
    await eventually(focusedRow).toBe('Unread: Middle');
    await user.keyboard.press('Enter');
    await eventually(() => user.locator('#reader-body').textContent()).toBe('Middle body.');
    await eventually(() => badge(user).textContent()).toBe('2');
    await eventually(focusedRow).toBe('Middle');
    await saveScreenshot(user, 'client-reader-dark-desktop');
  });

  it('loads older pages on demand', async () => {
    const backend = seed();
    const ada = backend.user('ada@tidings.test');
    const grace = backend.user('grace@tidings.test');
    for (let n = 1; n <= 60; n++) backend.insert(ada, grace, `Email number ${n}`, `Body ${n}`);
    const user = await signIn(await newContext(backend), 'grace@tidings.test');
    await eventually(() => rows(user).count()).toBe(50);
    await eventually(() => rows(user).first().textContent()).toContain('Email number 60');
    await user.getByRole('button', { name: 'Load older' }).click();
    await rows(user).nth(59).waitFor();
    await eventually(() => rows(user).last().textContent()).toContain('Email number 1');
    await eventually(() => user.getByRole('button', { name: 'Load older' }).isHidden()).toBe(true);
  });
});

describe('presence', () => {
  it('lists who is online, once per person however many tabs, and updates as people leave', async () => {
    const backend = seed();
    const ada = await signIn(await newContext(backend), 'ada@tidings.test');
    const graceContext = await newContext(backend);
    const grace = await signIn(graceContext, 'grace@tidings.test');
    const graceAgain = await graceContext.newPage();
    await graceAgain.goto(worker.url);
    await ready(graceAgain);

    const names = (page: Page) => page.getByTestId('online-member').locator('.online-name').allTextContents();
    await eventually(() => names(ada)).toEqual(['Ada Lovelace (you)', 'Grace Hopper']);
    await eventually(() => ada.getByTestId('online-count').textContent()).toBe('2');
    await eventually(() => names(grace)).toEqual(['Grace Hopper (you)', 'Ada Lovelace']);

    await graceAgain.close(); // one of Grace's two tabs: she is still online
    await grace.close();
    await eventually(() => names(ada)).toEqual(['Ada Lovelace (you)']);
  });
});

describe('reconnecting', () => {
  it('shows the connection state, and after an outage fetches every missed email exactly once', async () => {
    const backend = seed();
    const ada = backend.user('ada@tidings.test');
    const grace = backend.user('grace@tidings.test');
    backend.insert(ada, grace, 'Before the outage', 'One.');
    const context = await newContext(backend);
    const user = await signIn(context, 'grace@tidings.test');
    await eventually(() => user.getByTestId('connection').textContent()).toContain('Live');

    backend.realtimeDown();
    await context.setOffline(true);
    await user.locator('[data-testid="connection"][data-state="offline"]').waitFor();
    backend.insert(ada, grace, 'Sent while away 1', 'Two.');
    backend.insert(ada, grace, 'Sent while away 2', 'Three.');

    backend.realtimeBack();
    await context.setOffline(false);
    await user.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 20_000 });
    await eventually(() => rows(user).count()).toBe(3);
    await eventually(() => rows(user).allTextContents()).toEqual([
      expect.stringContaining('Sent while away 2'),
      expect.stringContaining('Sent while away 1'),
      expect.stringContaining('Before the outage'),
    ]);
    await eventually(() => badge(user).textContent()).toBe('3');
  });

  it('says so when the server refuses the mailbox channel, instead of failing silently', async () => {
    const backend = seed();
    backend.refuseChannels = true;
    const page = await (await newContext(backend)).newPage();
    await page.goto(worker.url);
    await page.getByRole('textbox', { name: 'Email' }).fill('grace@tidings.test');
    await page.getByLabel('Password', { exact: true }).fill('password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByTestId('toast').filter({ hasText: 'Live updates are off: the server refused access (403).' }).waitFor();
  });
});

describe('compose (admin)', () => {
  it('shows validation errors next to the field, from the browser and from the server', async () => {
    const backend = seed();
    const admin = await signIn(await newContext(backend), 'ada@tidings.test');
    await admin.getByRole('button', { name: 'Compose' }).click();
    await admin.getByRole('button', { name: 'Send' }).click();
    await eventually(() => admin.locator('#compose-recipients-error').textContent()).toBe('Choose at least one recipient.');
    await eventually(() => admin.locator('#compose-subject-error').textContent()).toBe('Write a subject.');

    await admin.getByRole('checkbox', { name: /Alan Turing/ }).check();
    await admin.getByLabel('Subject').fill('x'.repeat(201));
    await admin.getByRole('button', { name: 'Send' }).click();
    await eventually(() => admin.locator('#compose-recipients-error').textContent()).toBe('');
    await eventually(() => admin.locator('#compose-subject-error').textContent()).toContain('under 201 characters');
    await eventually(() => admin.getByLabel('Subject').getAttribute('aria-invalid')).toBe('');

    await admin.getByLabel('Subject').fill('please server-reject this');
    await admin.getByRole('button', { name: 'Send' }).click();
    await eventually(() => admin.locator('#compose-subject-error').textContent()).toBe('The server refused this subject.');
    await eventually(() => admin.getByRole('dialog').isVisible()).toBe(true);
    expect(backend.emails).toEqual([]);
    await admin.setViewportSize(viewports.phone);
    await saveScreenshot(admin, 'client-compose-errors-phone');
  });

  it('sends to several recipients and shows both inboxes at phone width', async () => {
    const backend = seed();
    const admin = await signIn(await newContext(backend), 'ada@tidings.test');
    const grace = await signIn(await newContext(backend, 'phone'), 'grace@tidings.test');
    const alan = await signIn(await newContext(backend, 'phone'), 'alan@tidings.test');
    await admin.getByRole('button', { name: 'Compose' }).click();
    await admin.getByRole('checkbox', { name: /Grace Hopper/ }).check();
    await admin.getByRole('checkbox', { name: /Alan Turing/ }).check();
    await admin.getByLabel('Subject').fill('Team offsite');
    await admin.getByLabel('Message').fill('Friday at ten, in the big room.');
    await saveScreenshot(admin, 'client-compose-desktop');
    await admin.getByRole('button', { name: 'Send' }).click();
    await admin.getByTestId('toast').filter({ hasText: 'to 2 people' }).waitFor();
    for (const page of [grace, alan]) {
      await page.getByTestId('toast').filter({ hasText: 'New email from Ada Lovelace: Team offsite' }).waitFor();
      await eventually(() => badge(page).textContent()).toBe('1');
    }
    await saveScreenshot(grace, 'client-inbox-toast-phone');
    await eventually(() => grace.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewports.phone.width);
    await rows(grace).first().getByRole('button').click();
    await eventually(() => grace.locator('#reader-body').isVisible()).toBe(true);
    await eventually(() => grace.getByTestId('inbox-list').isVisible()).toBe(false);
    await saveScreenshot(grace, 'client-reader-phone');
  });
});
