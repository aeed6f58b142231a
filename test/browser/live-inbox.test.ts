// The live inbox against the real stack: the Worker under wrangler dev, the local Supabase
// (Postgres, /auth/v1, the webhook queue) and the realtime server on Durable Objects. The tests use
// only what a user has: the seeded users from /api/config `devUsers`, the UI, and plain SQL on
// `public.emails` (as psql would).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startStack as startLocalStack } from '../support/stack.ts';
import { launchBrowser, realtimeSwitch, saveScreenshot, viewports } from '../support/browser.ts';

/** The running stack a browser test needs. */
interface Stack {
  /** The Worker's URL, serving the page, the API and the realtime WebSocket. */
  url: string;
  /** A Postgres connection string for the local Supabase's database (as `psql` would use). */
  databaseUrl: string;
  stop(): Promise<void>;
}

async function startStack(): Promise<Stack> {
  const stack = await startLocalStack();
  return { url: stack.worker.url, databaseUrl: stack.supabase.databaseUrl, stop: stack.stop };
}

interface DevUser {
  email: string;
  password: string;
  role: 'admin' | 'user';
}

let stack: Stack;
let browser: Browser;
let db: pg.Client;
let admin: DevUser;
let users: DevUser[];
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
  db = new pg.Client({ connectionString: stack.databaseUrl });
  await db.connect();
  const config = (await (await fetch(`${stack.url}/api/config`)).json()) as { devUsers?: DevUser[] };
  const devUsers = config.devUsers ?? [];
  admin = devUsers.find((user) => user.role === 'admin')!;
  users = devUsers.filter((user) => user.role === 'user');
  expect(admin, 'the seed has an admin').toBeDefined();
  expect(users.length, 'the seed has at least two users').toBeGreaterThanOrEqual(2);
});
afterAll(async () => {
  await db?.end();
  await browser?.close();
  await stack?.stop();
});
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

function eventually<T>(read: () => Promise<T>) {
  return expect.poll(read, { timeout: 15_000, interval: 100 });
}

async function newContext(viewport: keyof typeof viewports = 'desktop'): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: viewports[viewport], reducedMotion: 'reduce' });
  contexts.push(context);
  return context;
}

/** Waits until the inbox is loaded and the live connection is up. */
async function ready(page: Page): Promise<void> {
  await page.locator('[data-testid="inbox-list"][aria-busy="false"]').waitFor({ timeout: 20_000 });
  await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 20_000 });
}

async function signIn(context: BrowserContext, user: DevUser): Promise<Page> {
  const page = await context.newPage();
  await page.goto(stack.url);
  await page.getByRole('textbox', { name: 'Email' }).fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await ready(page);
  return page;
}

/** The display name the page shows for a signed-in user. */
async function nameOf(page: Page): Promise<string> {
  return (await page.locator('#me-name').textContent()) ?? '';
}

/** Inserts an email with plain SQL, as any source other than the API would. */
async function insertBySql(from: DevUser, to: DevUser, subject: string, body: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `insert into public.emails (sender_id, recipient_id, subject, body)
     select s.id, r.id, $3, $4 from public.profiles s, public.profiles r where s.email = $1 and r.email = $2
     returning id`,
    [from.email, to.email, subject, body],
  );
  if (!rows[0]) throw new Error(`no profiles for ${from.email} / ${to.email}`);
  return rows[0].id;
}

/** A subject no earlier test (or earlier run against the same database) used. */
function unique(subject: string): string {
  return `${subject} ${Math.random().toString(36).slice(2, 8)}`;
}

const rows = (page: Page) => page.locator('[data-testid="email-row"]');
const unreadCount = async (page: Page) => Number((await page.getByTestId('unread-badge').textContent()) || 0);

describe('the live inbox on the real stack', () => {
  it('shows what the admin sends, and a row inserted by plain SQL, with no reload', async () => {
    // A few emails first, so the screenshots show a lived-in inbox; one of them open.
    await insertBySql(admin, users[0]!, 'Welcome to Tidings', 'Glad to have you here. New mail shows up the moment it is sent.');
    await insertBySql(users[1]!, users[0]!, 'Lunch on Friday?', 'The usual place, at noon?');
    const adminPage = await signIn(await newContext(), admin);
    const userPage = await signIn(await newContext(), users[0]!);
    await rows(userPage).filter({ hasText: 'Welcome to Tidings' }).first().getByRole('button').click();
    await eventually(() => userPage.locator('#reader-subject').textContent()).toBe('Welcome to Tidings');
    await userPage.locator('[data-testid="email-row"].read', { hasText: 'Welcome to Tidings' }).first().waitFor();
    const userName = await nameOf(userPage);
    const adminName = await nameOf(adminPage);
    const before = await unreadCount(userPage);
    let reloads = 0;
    userPage.on('load', () => reloads++);

    // Toasts belong to this page load, and the new row is the newest: no unique subject needed.
    const subject = 'Quarterly report';
    await adminPage.getByRole('button', { name: 'Compose' }).click();
    await adminPage.getByRole('checkbox', { name: new RegExp(userName) }).check();
    await adminPage.getByLabel('Subject').fill(subject);
    await adminPage.getByLabel('Message').fill('The numbers are in, and they look good.');
    await adminPage.getByRole('button', { name: 'Send' }).click();
    await adminPage.getByTestId('toast').filter({ hasText: `Sent “${subject}”` }).waitFor();

    await userPage.getByTestId('toast').filter({ hasText: `New email from ${adminName}: ${subject}` }).waitFor();
    await eventually(() => rows(userPage).first().textContent()).toContain(subject);
    await eventually(() => unreadCount(userPage)).toBe(before + 1);
    await saveScreenshot(userPage, 'inbox-toast-desktop');

    const sqlSubject = 'Imported by SQL';
    await insertBySql(admin, users[0]!, sqlSubject, 'Inserted with psql, not the API.');
    await userPage.getByTestId('toast').filter({ hasText: sqlSubject }).waitFor();
    await eventually(() => rows(userPage).first().textContent()).toContain(sqlSubject);
    await eventually(() => unreadCount(userPage)).toBe(before + 2);
    await eventually(() => userPage.title()).toBe(`(${before + 2}) Inbox · Tidings`);
    expect(reloads).toBe(0);

    await userPage.setViewportSize(viewports.phone);
    // On a phone the open email fills the screen; go back to the list for the screenshot.
    await userPage.getByRole('button', { name: '← Inbox' }).click();
    await userPage.getByTestId('inbox-list').waitFor();
    await insertBySql(admin, users[0]!, 'On the phone', 'Small screens too.');
    await userPage.getByTestId('toast').filter({ hasText: 'On the phone' }).waitFor();
    await saveScreenshot(userPage, 'inbox-toast-phone');
  });

  it('renders an XSS payload as text', async () => {
    const page = await signIn(await newContext(), users[0]!);
    let dialogs = 0;
    page.on('dialog', (dialog) => {
      dialogs++;
      void dialog.dismiss();
    });
    const payload = `<img src=x onerror=alert(1)> ${unique('xss')}`;
    await insertBySql(admin, users[0]!, payload, '<script>alert(2)</script>');
    await page.getByTestId('toast').filter({ hasText: payload }).waitFor();
    await rows(page).first().getByRole('button').click();
    await eventually(() => page.locator('#reader-subject').textContent()).toBe(payload);
    await eventually(() => page.locator('#reader-body').textContent()).toBe('<script>alert(2)</script>');
    await eventually(() => page.locator('main img, #toasts img').count()).toBe(0);
    expect(dialogs).toBe(0);
  });

  it('syncs read state across two tabs of the same user', async () => {
    const context = await newContext();
    const first = await signIn(context, users[1]!);
    const second = await context.newPage();
    await second.goto(stack.url);
    await ready(second);
    const subject = unique('Read me');
    const id = await insertBySql(admin, users[1]!, subject, 'Body.');
    const row = (page: Page) => page.locator(`[data-email-id="${id}"]`);
    await row(second).waitFor();
    await eventually(() => row(second).getAttribute('class')).toContain('unread');

    await row(first).getByRole('button').click();
    await eventually(() => first.locator('#reader-body').textContent()).toBe('Body.');
    await eventually(() => row(second).getAttribute('class')).toContain('read');
    await eventually(() => row(second).getAttribute('class')).not.toContain('unread');
  });
});

describe('presence on the real stack', () => {
  it('lists two users online, counts two tabs of one user once, and drops one who leaves', async () => {
    const one = await signIn(await newContext(), users[0]!);
    const twoContext = await newContext();
    const two = await signIn(twoContext, users[1]!);
    const twoAgain = await twoContext.newPage();
    await twoAgain.goto(stack.url);
    await ready(twoAgain);
    const twoName = await nameOf(two);
    const names = () => one.getByTestId('online-member').locator('.online-name').allTextContents();

    await eventually(names).toContain(twoName);
    await eventually(async () => (await names()).filter((name) => name === twoName)).toHaveLength(1);
    await twoAgain.close();
    // Still online in the other tab.
    await eventually(names).toContain(twoName);
    await two.close();
    await eventually(names).not.toContain(twoName);
  });
});

describe('reconnecting on the real stack', () => {
  it('shows every email sent while offline exactly once after coming back', async () => {
    const context = await newContext();
    const network = await realtimeSwitch(context);
    const page = await signIn(context, users[0]!);
    const countBefore = await rows(page).count();

    network.off();
    await context.setOffline(true);
    await page.locator('[data-testid="connection"][data-state="offline"]').waitFor();
    const subjects = [unique('While away 1'), unique('While away 2'), unique('While away 3')];
    for (const subject of subjects) await insertBySql(admin, users[0]!, subject, 'Sent while the laptop slept.');

    network.on();
    await context.setOffline(false);
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 30_000 });
    for (const subject of subjects) {
      await eventually(() => page.locator('[data-testid="email-row"]', { hasText: subject }).count()).toBe(1);
    }
    // The redelivery cron may publish the same rows again: still one row each.
    await eventually(() => rows(page).count()).toBe(countBefore + subjects.length);
  });
});
