// The browser tests' shared parts: headless Chromium, the real local stack behind it, and the few
// page helpers every feature's test file needs. Nothing here stands in for a server: the page talks
// to the Worker under wrangler dev, the local Supabase and the realtime server on Durable Objects.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { type SeedUser, seedUsers } from '../seed-users.ts';
import { launchBrowser, viewports } from './chromium.ts';
import { serverSdk } from './realtime-clients.ts';
import { type Stack, startStack } from './stack.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** Where the browser tests save screenshots (git-ignored; CI keeps them as artifacts). */
export const artifactsDir = `${root}artifacts`;

export { chromiumPath, launchBrowser, viewports } from './chromium.ts';

/** Someone who can sign in: a seeded development account or one a test made. */
export type Account = SeedUser;

/** A seeded login as `GET /api/config` lists it under `devUsers` (development only). */
export interface DevUser {
  email: string;
  password: string;
  role: 'admin' | 'user';
}

/**
 * One real stack, one browser and one database connection for a test file, with the steps the
 * tests take on it. Get one with {@link useLiveStack}.
 */
export class LiveStack {
  /** The Worker's URL: the page, the API and the realtime WebSocket. */
  url = '';
  stack!: Stack;
  browser!: Browser;
  /** A plain Postgres connection to the local Supabase's database, as `psql` would use. */
  db!: pg.Client;
  /** The seeded logins the sign-in page lists. */
  devUsers: DevUser[] = [];
  /** The seeded admin and users (test/support/seed-users.ts). */
  readonly admin: Account = seedUsers.admin;
  readonly users: Account[] = [seedUsers.ada, seedUsers.grace];
  readonly #contexts: BrowserContext[] = [];

  async start(options: { workerVars?: Record<string, string> }): Promise<void> {
    [this.stack, this.browser] = await Promise.all([startStack(options), launchBrowser()]);
    this.url = this.stack.worker.url;
    this.db = new pg.Client({ connectionString: this.stack.supabase.databaseUrl });
    await this.db.connect();
    const config = (await (await fetch(`${this.url}/api/config`)).json()) as { devUsers?: DevUser[] };
    this.devUsers = config.devUsers ?? [];
    expect(this.devUsers, 'the development logins are the seeded accounts').toEqual(
      [seedUsers.admin, seedUsers.ada, seedUsers.grace].map(({ email, password, role }) => ({ email, password, role })),
    );
  }

  async stop(): Promise<void> {
    await this.db?.end();
    await this.browser?.close();
    await this.stack?.stop();
  }

  /** Closes every context a test opened, so its people leave presence before the next test. */
  async closeContexts(): Promise<void> {
    await Promise.all(this.#contexts.splice(0).map((context) => context.close()));
  }

  /** A fresh profile at a viewport; closed after the test. */
  async newContext(options: { viewport?: keyof typeof viewports; colorScheme?: 'light' | 'dark' } = {}): Promise<BrowserContext> {
    const context = await this.browser.newContext({
      viewport: viewports[options.viewport ?? 'desktop'],
      reducedMotion: 'reduce',
      colorScheme: options.colorScheme ?? 'light',
    });
    this.#contexts.push(context);
    return context;
  }

  /** Another tab in `context` with the page loaded. */
  async open(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    await page.goto(this.url);
    return page;
  }

  /** Signs in through the form and waits until the inbox is loaded and live. */
  async signIn(context: BrowserContext, account: Pick<Account, 'email' | 'password'>): Promise<Page> {
    const page = await this.submitSignIn(context, account);
    await ready(page);
    return page;
  }

  /** Sends the sign-in form and waits for nothing after it (for a test that holds part of the start back). */
  async submitSignIn(context: BrowserContext, account: Pick<Account, 'email' | 'password'>): Promise<Page> {
    const page = await this.open(context);
    await page.getByRole('textbox', { name: 'Email' }).fill(account.email);
    await page.getByLabel('Password', { exact: true }).fill(account.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    return page;
  }

  /**
   * A new account made with plain SQL, as supabase/seed.sql makes the seeded ones (the profile
   * comes from the `on_auth_user_created` trigger), so a test starts from an empty inbox.
   */
  async createUser(name: string, role: 'admin' | 'user' = 'user'): Promise<Account> {
    const email = `${name.toLowerCase().replace(/\W+/g, '.')}.${randomBytes(3).toString('hex')}@tidings.test`;
    const password = randomBytes(9).toString('base64url');
    const { rows } = await this.db.query<{ id: string }>(
      `insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
         raw_app_meta_data, raw_user_meta_data, created_at, updated_at, confirmation_token, recovery_token, email_change, email_change_token_new)
       values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', $1,
         extensions.crypt($2, extensions.gen_salt('bf')), now(),
         jsonb_build_object('provider', 'email', 'providers', jsonb_build_array('email'), 'role', $4::text),
         jsonb_build_object('display_name', $3::text), now(), now(), '', '', '', '')
       returning id`,
      [email, password, name, role],
    );
    return { id: rows[0]!.id, email, password, name, role };
  }

  /** Inserts an email with plain SQL, as any source other than the API would (psql, an import). */
  async insertEmail(from: Account, to: Account, subject: string, body: string): Promise<string> {
    const { rows } = await this.db.query<{ id: string }>(
      'insert into public.emails (sender_id, recipient_id, subject, body) values ($1, $2, $3, $4) returning id',
      [from.id, to.id, subject, body],
    );
    return rows[0]!.id;
  }

  /** How many of `to`'s emails the model observer has delivered (their INSERT outbox entries). */
  async deliveredEmails(to: Pick<Account, 'id'>): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      `select count(*)::int as n from tidings.outbox o join public.emails e on e.id::text = o.row_id
       where e.recipient_id = $1 and o.operation = 'INSERT' and o.delivered_at is not null`,
      [to.id],
    );
    return rows[0]!.n;
  }

  /** Publishes an event as it is, through the realtime server's HTTP API (the official SDK). */
  async publishRaw(channel: string, event: string, data: unknown): Promise<void> {
    const response = await serverSdk(this.stack.worker).trigger(channel, event, data);
    expect(response.status).toBe(200);
  }

  /** Runs the redelivery Cron Trigger once (wrangler dev `--test-scheduled`); it finishes in the background. */
  async runCron(): Promise<void> {
    expect((await fetch(`${this.url}/__scheduled?cron=*+*+*+*+*`)).status).toBe(200);
  }
}

/**
 * Starts the real stack and a browser before the file's tests, closes each test's browser
 * contexts after it, and stops everything after the file. One stack per file keeps CI time modest;
 * tests that count rows use their own accounts ({@link LiveStack.createUser}).
 */
export function useLiveStack(options: { workerVars?: Record<string, string> } = {}): LiveStack {
  const live = new LiveStack();
  beforeAll(() => live.start(options), 120_000);
  afterEach(() => live.closeContexts());
  afterAll(() => live.stop());
  return live;
}

/** Polls until the value matches: the page updates asynchronously (events, fetches, rendering). */
export function eventually<T>(read: () => Promise<T>) {
  return expect.poll(read, { timeout: 15_000, interval: 100 });
}

/** Waits until the inbox is loaded and the live connection is up. */
export async function ready(page: Page): Promise<void> {
  // Attached, not visible: an empty inbox's list takes no room (its message does).
  await page.locator('[data-testid="inbox-list"][aria-busy="false"]').waitFor({ state: 'attached', timeout: 20_000 });
  await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 20_000 });
}

/** The inbox rows the page has rendered, newest first: only those near the viewport. */
export const rows = (page: Page) => page.locator('[data-testid="email-row"]');

/** How many emails the inbox list holds, rendered or not. */
export const loadedEmails = async (page: Page) => Number((await page.getByTestId('inbox-list').getAttribute('data-count')) ?? 0);

/**
 * The subject of every email the list holds, in list order, read as a user would see them: by
 * scrolling the list from the top to the bottom (which also loads older pages as it goes; after
 * each page it starts again from the top). Fails when a row is missing, shown twice, or changes
 * while no page arrived.
 */
export async function scrollThroughInbox(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const list = document.querySelector<HTMLElement>('[data-testid="inbox-list"]')!;
    const frames = () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    const seen = new Map<number, { id: string; subject: string }>();
    list.scrollTop = 0;
    let still = 0;
    let count = Number(list.dataset.count);
    for (let step = 0; step < 10_000 && still < 40; step++) {
      await frames();
      if (Number(list.dataset.count) !== count) {
        // A page arrived: its rows may sort in above rows already seen (an old email a late
        // redelivery showed early moves down). Read the whole list again, from the top.
        count = Number(list.dataset.count);
        seen.clear();
        list.scrollTop = 0;
        still = 0;
        continue;
      }
      for (const item of Array.from(list.querySelectorAll<HTMLElement>('li[data-index]'))) {
        const index = Number(item.dataset.index);
        const id = item.dataset.emailId!;
        const known = seen.get(index);
        if (known && known.id !== id) throw new Error(`row ${index} changed from ${known.id} to ${id} while scrolling`);
        seen.set(index, { id, subject: item.querySelector('.email-subject')?.textContent ?? '' });
      }
      const atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 1;
      const loading = !document.querySelector<HTMLButtonElement>('#load-older')?.hidden;
      if (atEnd && !loading && seen.size === Number(list.dataset.count)) break;
      still = atEnd ? still + 1 : 0;
      list.scrollTop += list.clientHeight;
    }
    const subjects = Array.from({ length: seen.size }, (_, index) => seen.get(index));
    if (subjects.some((row) => !row)) throw new Error('a row was never rendered while scrolling');
    if (new Set(subjects.map((row) => row!.id)).size !== subjects.length) throw new Error('an email was shown in two rows');
    return subjects.map((row) => row!.subject);
  });
}

/** The unread count in the header (0 while the badge is hidden), as a number (the badge reads "10,000"). */
export const unreadCount = async (page: Page) => Number(((await page.getByTestId('unread-badge').textContent()) || '0').replace(/,/g, ''));

/** A toast whose text contains `text`. */
export const toastWith = (page: Page, text: string) => page.getByTestId('toast').filter({ hasText: text });

/** The display name in the header of a signed-in page. */
export const nameOf = async (page: Page) => (await page.locator('#me-name').textContent()) ?? '';

/** Collects uncaught page errors, so a test can assert the page ran cleanly. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}

/**
 * Records the text of every toast the context's pages ever show, so a test can count them after
 * they have timed out (a toast stays 7 seconds).
 */
export async function recordToasts(context: BrowserContext): Promise<(page: Page) => Promise<string[]>> {
  await context.addInitScript(() => {
    const shown: string[] = [];
    Object.assign(window, { shownToasts: shown });
    new MutationObserver((changes) => {
      for (const change of changes) {
        for (const node of Array.from(change.addedNodes)) {
          if (node instanceof HTMLElement && node.dataset.testid === 'toast') shown.push(node.textContent ?? '');
        }
      }
    }).observe(document, { childList: true, subtree: true });
  });
  return (page) => page.evaluate(() => (window as unknown as { shownToasts: string[] }).shownToasts);
}

/** Saves a screenshot of the viewport to artifacts/<name>.png and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(artifactsDir, { recursive: true });
  const path = `${artifactsDir}/${name}.png`;
  await page.screenshot({ path, fullPage: false });
  return path;
}

/**
 * A network switch for a context's pages. Off: the browser goes offline and open WebSockets to the
 * realtime server are closed and new ones refused, as when a laptop sleeps or Wi-Fi drops. On: the
 * browser is back online (pusher-js reconnects at once) and pages reach the real server again
 * (Playwright proxies the frames).
 */
export async function networkSwitch(
  context: BrowserContext,
  /** Which WebSockets it cuts: the realtime server's (`/app/{key}`) by default; Ably's stand-in by its address. */
  sockets: RegExp = /\/app\/[^/?]+/,
): Promise<{ off(): Promise<void>; on(): Promise<void> }> {
  let up = true;
  /** Page side → server side of every proxied socket. */
  const open = new Map<WebSocketRoute, WebSocketRoute>();
  await context.routeWebSocket(sockets, (ws) => {
    if (!up) return void ws.close({ code: 4100, reason: 'Network down (test)' });
    const server = ws.connectToServer();
    open.set(ws, server);
    // A page-side close handler turns off Playwright's forwarding, so pass the close on ourselves.
    ws.onClose((code, reason) => {
      open.delete(ws);
      void server.close(code ? { code, reason: reason ?? '' } : {});
    });
  });
  return {
    async off() {
      up = false;
      for (const [page, server] of open) {
        void page.close({ code: 4100, reason: 'Network down (test)' });
        void server.close({});
      }
      open.clear();
      await context.setOffline(true);
    },
    async on() {
      // Online first: a socket let through before would connect (the route's server side ignores
      // the page's offline state) and the page's channel auth and API calls would still fail.
      await context.setOffline(false);
      up = true;
    },
  };
}
