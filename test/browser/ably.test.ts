// The web client on Ably, in headless Chromium on the real stack: BROADCAST_DRIVER=ably, the
// Worker publishing to the Ably stand-in's REST half, the page's ably-js (loaded as its own chunk)
// connected to its realtime half with tokens from /broadcasting/auth. Ably itself cannot run here;
// the stand-in is checked against ably-js in test/harness/ably-realtime-stub.test.ts.

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmailsUpdated } from '../../functions/broadcast/events.ts';
import { ablyStubVars, TEST_ABLY_KEY } from '../support/ably-key.ts';
import { startAblyRestStub } from '../support/node/ably-rest-stub.ts';
import {
  collectPageErrors,
  eventually,
  networkSwitch,
  ready,
  rows,
  toastWith,
  unreadCount,
  useLiveStack,
} from '../support/node/browser.ts';

let ably: Awaited<ReturnType<typeof startAblyRestStub>>;
// Filled in before the stack starts (hooks run in order): the Worker needs the stand-in's port.
const workerVars: Record<string, string> = {};
beforeAll(async () => {
  ably = await startAblyRestStub(TEST_ABLY_KEY, { realtime: true });
  Object.assign(workerVars, ablyStubVars(ably.port));
});
afterAll(() => ably?.close());
const live = useLiveStack({ workerVars });

const onlineNames = (page: Page) => page.getByTestId('online-member').locator('.online-name').allTextContents();

describe('the web client on Ably', () => {
  it('loads ably-js only now, goes live on the user’s private channel, and shows a new email at once', async () => {
    const reader = await live.createUser('Katherine Johnson');
    const context = await live.newContext();
    const scripts: string[] = [];
    context.on('request', (request) => {
      if (request.resourceType() === 'script') scripts.push(new URL(request.url()).pathname);
    });
    const page = await live.signIn(context, reader);
    const errors = collectPageErrors(page);
    await ready(page);
    expect(scripts.some((path) => /^\/assets\/chunks\/ably-transport-[A-Z0-9]+\.js$/.test(path))).toBe(true);

    const id = await live.insertEmail(live.admin, reader, 'Over Ably', 'Published through Ably’s REST API.');
    await eventually(() => rows(page).locator('.email-subject').allTextContents()).toEqual(['Unread: Over Ably']);
    // It came over Ably: the stand-in accepted the Worker's publish on the user's Ably channel.
    const published = ably.accepted.flatMap((request) => request.messages).find((m) => m.channel === `private:user.${reader.id}`);
    expect(published).toMatchObject({ name: 'email.received', encoding: 'json' });
    expect(JSON.parse(published!.data!)).toMatchObject({ id, subject: 'Over Ably' });
    expect(errors).toEqual([]);
  });

  it('lists the admins online through Ably presence, once per person, and updates as they leave', async () => {
    const one = await live.createUser('Mary Jackson', 'admin');
    const two = await live.createUser('Dorothy Vaughan', 'admin');
    const first = await live.signIn(await live.newContext(), one);
    const twoContext = await live.newContext();
    const second = await live.signIn(twoContext, two);
    const secondAgain = await live.open(twoContext);
    await ready(secondAgain);

    await eventually(() => onlineNames(first)).toEqual([`${one.name} (you)`, two.name]);
    await eventually(() => onlineNames(second)).toEqual([`${two.name} (you)`, one.name]);
    await secondAgain.close();
    await second.close();
    await eventually(() => onlineNames(first)).toEqual([`${one.name} (you)`]);
  });

  it('says why when the server refuses presence: the reason from its Ably-shaped 403', async () => {
    // The admin is made a user between loading the page and asking for the presence channel's
    // token, so the real Worker refuses presence-admins with its reason in Ably's error shape.
    const reader = await live.createUser('Annie Easley', 'admin');
    const context = await live.newContext();
    await context.route('**/broadcasting/auth', async (route) => {
      const asked = route.request().postDataJSON() as { channel_name?: string | null };
      if (asked.channel_name === 'presence:admins')
        await live.db.query(`update public.profiles set role = 'user' where id = $1`, [reader.id]);
      await route.continue();
    });
    const page = await live.signIn(context, reader);
    await toastWith(page, 'Cannot show which admins are online: You may not join presence-admins').waitFor();
  });

  it('carries mark all read to another tab as emails.updated over Ably, without the tab asking the API', async () => {
    const reader = await live.createUser('Christine Darden');
    await live.db.query(
      `insert into public.emails (sender_id, recipient_id, subject, body, created_at)
       select $1, $2, 'Pile ' || lpad(n::text, 3, '0'), 'Unread', now() - (130 - n) * interval '1 second' from generate_series(1, 130) n`,
      [live.admin.id, reader.id],
    );
    await eventually(() => live.deliveredEmails(reader)).toBe(130);
    const context = await live.newContext();
    const first = await live.signIn(context, reader);
    const second = await live.open(context);
    await ready(second);
    await eventually(() => unreadCount(second)).toBe(130);
    const asked: string[] = [];
    second.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/api/emails')) asked.push(request.url());
    });

    await first.getByTestId('mark-all-read').click();
    // The other tab's rows turn read from the events alone: it reads no email list meanwhile.
    await eventually(() => rows(second).evaluateAll((list) => list.filter((row) => row.classList.contains('unread')).length)).toBe(0);
    await eventually(() => unreadCount(second)).toBe(0);
    expect(asked.filter((url) => !url.includes('limit=1'))).toEqual([]);
    // One UPDATE of 130 rows: two webhooks (100 entries each at most), two emails.updated on the
    // user's Ably channel, with the JSON encoding ably-js decodes, and no email.updated.
    const onChannel = ably.accepted.flatMap((request) => request.messages).filter((m) => m.channel === `private:user.${reader.id}`);
    const updated = onChannel.filter((m) => m.name === 'emails.updated');
    expect(updated.map((m) => m.encoding)).toEqual(['json', 'json']);
    expect(updated.map((m) => EmailsUpdated.schema.parse(JSON.parse(m.data!)).emails.length).sort((a, b) => a - b)).toEqual([30, 100]);
    expect(onChannel.filter((m) => m.name === 'email.updated')).toEqual([]);
  });

  it('catches up after an outage: an email sent while offline shows once, after Ably reconnects', async () => {
    const reader = await live.createUser('Annie Easley');
    const context = await live.newContext();
    const network = await networkSwitch(context, new RegExp(`//127\\.0\\.0\\.1:${ably.port}/`));
    const page = await live.signIn(context, reader);
    await ready(page);
    await network.off();
    await page.locator('[data-testid="connection"][data-state="offline"]').waitFor();
    await live.insertEmail(live.admin, reader, 'While you were away', 'Sent during the outage.');
    // Published to Ably meanwhile, but this page was not connected to hear it.
    await eventually(async () =>
      ably.accepted.flatMap((request) => request.messages).some((m) => m.channel === `private:user.${reader.id}`),
    ).toBe(true);
    expect(await rows(page).count()).toBe(0);
    await network.on();
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 30_000 });
    await eventually(() => rows(page).locator('.email-subject').allTextContents()).toEqual(['Unread: While you were away']);
  });
});
