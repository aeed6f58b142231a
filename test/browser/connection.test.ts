// The live connection in headless Chromium on the real stack: which admins are online (presence-admins),
// coming back after an outage, and a channel the server refuses.

import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  eventually,
  nameOf,
  networkSwitch,
  ready,
  rows,
  saveScreenshot,
  toastWith,
  unreadCount,
  useLiveStack,
} from '../support/node/browser.ts';

const live = useLiveStack();

/** The names under "Admins online". */
const onlineNames = (page: Page) => page.getByTestId('online-member').locator('.online-name').allTextContents();

describe('presence', () => {
  it('lists the admins online to admins, once per person however many tabs, and updates as they leave', async () => {
    const one = await live.createUser('Grace Hopper', 'admin');
    const two = await live.createUser('Ada Lovelace', 'admin');
    const first = await live.signIn(await live.newContext(), one!);
    const twoContext = await live.newContext();
    const second = await live.signIn(twoContext, two!);
    const secondAgain = await live.open(twoContext);
    await ready(secondAgain);

    await eventually(() => onlineNames(first)).toEqual([`${one!.name} (you)`, two!.name]);
    await eventually(() => first.getByTestId('online-count').textContent()).toBe('2');
    // The whole name and "(you)" fit the desktop sidebar (an ADMIN tag beside every member cut them).
    const cut = await first
      .getByTestId('online-member')
      .locator('.online-name')
      .evaluateAll((names) => names.filter((name) => name.scrollWidth > name.clientWidth).map((name) => name.textContent));
    expect(cut).toEqual([]);
    await eventually(() => onlineNames(second)).toEqual([`${two!.name} (you)`, one!.name]);
    await eventually(() => nameOf(secondAgain)).toBe(two!.name);

    await secondAgain.close(); // one of two tabs: still online in the other
    await eventually(() => onlineNames(first)).toEqual([`${one!.name} (you)`, two!.name]);
    await second.close();
    await eventually(() => onlineNames(first)).toEqual([`${one!.name} (you)`]);
  });

  it('shows users no presence panel and keeps them out of the presence channel, so their number has no limit', async () => {
    const admin = await live.signIn(await live.newContext(), await live.createUser('Frances Allen', 'admin'));
    await eventually(() => onlineNames(admin)).toEqual(['Frances Allen (you)']);
    const user = await live.signIn(await live.newContext(), await live.createUser('Barbara Liskov'));
    await eventually(() => user.getByTestId('connection').textContent()).toContain('Live');
    await user.getByRole('heading', { name: /Admins online/ }).waitFor({ state: 'hidden' });
    // The admin's list never shows the user (a marker admin joining later proves it is up to date).
    const later = await live.signIn(await live.newContext(), await live.createUser('Jean Sammet', 'admin'));
    await eventually(() => onlineNames(admin)).toEqual(['Frances Allen (you)', 'Jean Sammet']);
    await later.close();
  });
});

describe('reconnecting', () => {
  it('shows the connection state, and after an outage shows every missed email exactly once', async () => {
    const reader = await live.createUser('Margaret Hamilton');
    await live.insertEmail(live.admin, reader, 'Before the outage', 'One.');
    const context = await live.newContext();
    const network = await networkSwitch(context);
    const page = await live.signIn(context, reader);
    await eventually(() => page.getByTestId('connection').textContent()).toContain('Live');

    await network.off();
    await page.locator('[data-testid="connection"][data-state="offline"]').waitFor();
    await eventually(() => page.getByTestId('connection').textContent()).toContain('Offline');
    for (const subject of ['Sent while away 1', 'Sent while away 2', 'Sent while away 3'])
      await live.insertEmail(live.admin, reader, subject, 'Sent while the laptop slept.');

    await network.on();
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 30_000 });
    await eventually(() => rows(page).locator('.email-subject').allTextContents()).toEqual([
      'Unread: Sent while away 3',
      'Unread: Sent while away 2',
      'Unread: Sent while away 1',
      'Unread: Before the outage',
    ]);
    await eventually(() => unreadCount(page)).toBe(4);
  });

  it('says Live again after a network blip the socket survived, and keeps showing new mail live', async () => {
    const reader = await live.createUser('Hedy Lamarr');
    const context = await live.newContext();
    const page = await live.signIn(context, reader);
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor();
    // The browser reports offline, then online a moment later; the socket never closed.
    await context.setOffline(true);
    await page.locator('[data-testid="connection"][data-state="offline"]').waitFor();
    await context.setOffline(false);
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 5_000 });
    await eventually(() => page.getByTestId('connection').textContent()).toContain('Live');
    await live.insertEmail(live.admin, reader, 'After the blip', 'Still live.');
    await eventually(() => rows(page).locator('.email-subject').allTextContents()).toEqual(['Unread: After the blip']);
  });

  it('after an outage, shows the reads and deletions made meanwhile, so the rows agree with the count', async () => {
    const reader = await live.createUser('Katherine Johnson');
    const subjects = ['Read elsewhere', 'Deleted elsewhere', 'Stays unread', 'Unread elsewhere'];
    for (const subject of subjects) await live.insertEmail(live.admin, reader, subject, 'Changed while this tab was away.');
    await live.db.query(`update public.emails set read_at = now() where recipient_id = $1 and subject = 'Unread elsewhere'`, [reader.id]);
    const context = await live.newContext();
    const network = await networkSwitch(context);
    const page = await live.signIn(context, reader);
    const shown = () => rows(page).locator('.email-subject').allTextContents();
    await eventually(shown).toEqual(['Unread elsewhere', 'Unread: Stays unread', 'Unread: Deleted elsewhere', 'Unread: Read elsewhere']);

    await network.off();
    await page.locator('[data-testid="connection"][data-state="offline"]').waitFor();
    // Another device reads one, deletes one and marks one unread: no event reaches this tab.
    await live.db.query(`update public.emails set read_at = now() where recipient_id = $1 and subject = 'Read elsewhere'`, [reader.id]);
    await live.db.query(`update public.emails set read_at = null where recipient_id = $1 and subject = 'Unread elsewhere'`, [reader.id]);
    await live.db.query(`delete from public.emails where recipient_id = $1 and subject = 'Deleted elsewhere'`, [reader.id]);

    await network.on();
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 30_000 });
    await eventually(shown).toEqual(['Unread: Unread elsewhere', 'Unread: Stays unread', 'Read elsewhere']);
    await eventually(() => unreadCount(page)).toBe(2);
    expect(await page.getByTestId('inbox-summary').textContent()).toBe('2 unread');
    await saveScreenshot(page, 'connection-after-outage-reads-and-deletes');
  });
});

describe('the first subscription of a page load', () => {
  it('shows the reads, deletions and arrivals made after the page read the inbox but before its channel was live', async () => {
    const reader = await live.createUser('Mary Jackson');
    const ids: string[] = [];
    for (const subject of ['Read meanwhile', 'Deleted meanwhile', 'Stays unread'])
      ids.push(await live.insertEmail(live.admin, reader, subject, 'Changed while this tab was loading.'));
    const context = await live.newContext();
    // The mailbox channel's authorization waits until the page has read and shown the inbox: the
    // gap between that read and the subscription, which a slow network makes as long as it likes.
    let release!: () => void;
    const subscribing = new Promise<void>((resolve) => {
      release = resolve;
    });
    await context.route('**/broadcasting/auth', async (route) => {
      if ((route.request().postData() ?? '').includes(`private-user.${reader.id}`)) await subscribing;
      return route.continue();
    });
    const page = await live.submitSignIn(context, reader);
    const shown = () => rows(page).locator('.email-subject').allTextContents();
    await eventually(shown).toEqual(['Unread: Stays unread', 'Unread: Deleted meanwhile', 'Unread: Read meanwhile']);
    expect(await page.getByTestId('connection').getAttribute('data-state')).toBe('connecting');

    // Another tab reads one, an admin deletes one and sends one: their events go out to no one here.
    await live.db.query(`update public.emails set read_at = now() where id = $1`, [ids[0]]);
    await live.db.query('delete from public.emails where id = $1', [ids[1]]);
    ids.push(await live.insertEmail(live.admin, reader, 'Arrived meanwhile', 'Sent while this tab was loading.'));
    await eventually(
      async () =>
        (
          await live.db.query<{ n: number }>(
            'select count(*)::int as n from tidings.outbox where row_id = any($1) and delivered_at is null',
            [ids],
          )
        ).rows[0]!.n,
    ).toBe(0);

    release();
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 30_000 });
    await eventually(shown).toEqual(['Unread: Arrived meanwhile', 'Unread: Stays unread', 'Read meanwhile']);
    await eventually(() => unreadCount(page)).toBe(2);
  });
});

describe('reconnecting with a row dated infinity in the inbox', () => {
  it('keeps catching up and marking all read: no cursor is taken from a time the API cannot carry', async () => {
    const reader = await live.createUser('Ida Rhodes');
    // Rows written by hand with the service role; their outbox entries fail as poison.
    for (const [subject, createdAt] of [
      ['Dated infinity', 'infinity'],
      ['Dated -infinity', '-infinity'],
    ])
      await live.db.query(
        `insert into public.emails (sender_id, recipient_id, subject, body, created_at) values ($1, $2, $3, 'Odd.', $4)`,
        [live.admin.id, reader.id, subject, createdAt],
      );
    await live.insertEmail(live.admin, reader, 'Before the outage', 'One.');
    const context = await live.newContext();
    const network = await networkSwitch(context);
    // The first subscription's catch-up ends by reading the shown emails again; an outage that cut
    // that read would make the page say it could not load the inbox, which is not what this checks.
    const rechecked = context.waitForEvent('response', (response) => /\/api\/emails\?limit=100$/.test(response.url()));
    const page = await live.signIn(context, reader);
    await eventually(() => rows(page).locator('.email-subject').allTextContents()).toEqual([
      'Unread: Dated infinity',
      'Unread: Before the outage',
      'Unread: Dated -infinity',
    ]);
    await rechecked;

    await network.off();
    await page.locator('[data-testid="connection"][data-state="offline"]').waitFor();
    await live.insertEmail(live.admin, reader, 'Sent while away', 'Two.');
    await network.on();
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 30_000 });
    await eventually(() => rows(page).locator('.email-subject').nth(1).textContent()).toBe('Unread: Sent while away');
    expect(await toastWith(page, 'Could not').count()).toBe(0);

    // Up to the newest finite time: everything but the row dated infinity.
    await page.getByTestId('mark-all-read').click();
    await toastWith(page, 'Marked 3 emails read.').waitFor();
    await eventually(() => unreadCount(page)).toBe(1);
  });
});

describe('reconnecting after part of a batch arrived', () => {
  it('shows an email missed during the outage that shares its created_at with one already shown', async () => {
    const reader = await live.createUser('Annie Easley');
    const first = await live.insertEmail(live.admin, reader, 'Batch, first', 'One.');
    const context = await live.newContext();
    const network = await networkSwitch(context);
    const page = await live.signIn(context, reader);
    await eventually(() => rows(page).count()).toBe(1);

    await network.off();
    await page.locator('[data-testid="connection"][data-state="offline"]').waitFor();
    // The second row of the same import: one transaction gives both the same created_at.
    await live.db.query(
      `insert into public.emails (sender_id, recipient_id, subject, body, created_at)
       select sender_id, recipient_id, 'Batch, second', 'Two.', created_at from public.emails where id = $1`,
      [first],
    );
    await network.on();
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 30_000 });
    await eventually(async () => (await rows(page).locator('.email-subject').allTextContents()).sort()).toEqual([
      'Unread: Batch, first',
      'Unread: Batch, second',
    ]);
  });
});

describe('a refused channel', () => {
  it('says so instead of failing silently when the server refuses presence', async () => {
    // presence-admins admits admins (functions/broadcast/mailbox-channels.ts). Remove this admin's
    // profile while they are signed in; on the next connection the server refuses the channel.
    // (Their own private-user.{id} is never refused: its rule needs only the verified token.)
    const reader = await live.createUser('Radia Perlman', 'admin');
    const context = await live.newContext();
    const network = await networkSwitch(context);
    const page = await live.signIn(context, reader);
    await eventually(() => onlineNames(page)).toContain(`${reader.name} (you)`);

    await live.db.query('delete from public.profiles where id = $1', [reader.id]);
    await network.off();
    await page.locator('[data-testid="connection"][data-state="offline"]').waitFor();
    await network.on();
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 30_000 });
    await toastWith(page, 'Cannot show which admins are online: the server refused access (403)').waitFor();
  });
});

describe('a channel the server cannot take right now', () => {
  it('subscribes again after a 503 from the channel auth endpoint, and shows new mail live without a reload', async () => {
    const reader = await live.createUser('Katherine Johnson');
    const context = await live.newContext();
    // The Worker answers 503 when it cannot reach the database or its keys for a moment; here once.
    const mailboxAuth: number[] = [];
    await context.route('**/broadcasting/auth', async (route) => {
      if ((route.request().postData() ?? '').includes(`private-user.${reader.id}`)) {
        mailboxAuth.push(mailboxAuth.length);
        if (mailboxAuth.length === 1) {
          return route.fulfill({
            status: 503,
            contentType: 'application/json',
            body: JSON.stringify({ error: 'The database cannot be reached (verifying the token); try again shortly' }),
          });
        }
      }
      return route.continue();
    });
    const page = await live.signIn(context, reader);
    expect(mailboxAuth.length).toBeGreaterThanOrEqual(2);
    await live.insertEmail(live.admin, reader, 'After the blip', 'Live again.');
    await eventually(() => rows(page).locator('.email-subject').allTextContents()).toContain('Unread: After the blip');
    expect(await page.getByText(/Live updates are off/).count()).toBe(0);
  });
});
