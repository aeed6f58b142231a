import { describe, expect, it } from 'vitest';
import { type Account, eventually, saveScreenshot, toastWith, useLiveStack } from '../support/node/browser.ts';

// The admins' delivery panel, against the real outbox: what is pending while the webhook cannot
// reach the Worker, what failed and why, the last redelivery run, and replaying a failed entry.
describe('the delivery panel (admins)', () => {
  const live = useLiveStack();

  it('shows a pending entry while the webhook URL is unreachable, then a failed one with its reason, and replays it', async () => {
    const page = await live.signIn(await live.newContext(), live.admin);
    const summary = page.getByTestId('delivery-summary');
    await eventually(() => summary.textContent()).toBe('Every change delivered');

    const [ada] = live.users;
    const { rows: setting } = await live.db.query<{ value: string }>(`select value from private.settings where name = 'webhook_url'`);
    await live.db.query(`update private.settings set value = 'http://127.0.0.1:9/webhooks/db' where name = 'webhook_url'`);
    try {
      await live.insertEmail(live.admin, ada!, 'Stuck for now', 'The webhook cannot get through.');
      await eventually(() => summary.textContent()).toMatch(/^1 pending, the oldest for \d+ s$/);
      await saveScreenshot(page, 'delivery-panel-pending');
    } finally {
      await live.db.query(`update private.settings set value = $1 where name = 'webhook_url'`, [setting[0]!.value]);
    }

    // A row whose event cannot be built (written with the service role): it fails, with the reason.
    const { rows: poison } = await live.db.query<{ id: string }>(
      `insert into public.emails (sender_id, recipient_id, subject, body, created_at) values ($1, $2, 'Poison', 'x', '-infinity') returning id`,
      [live.admin.id, ada!.id],
    );
    const entry = async () =>
      (
        await live.db.query<{ failed_at: Date | null; attempts: number }>(
          `select failed_at, attempts from tidings.outbox where table_name = 'public.emails' and row_id = $1 and operation = 'INSERT'`,
          [poison[0]!.id],
        )
      ).rows[0];
    // Its webhook fails it at once; the entry the unreachable URL held back is still pending.
    await eventually(async () => (await entry())?.failed_at).toBeInstanceOf(Date);
    // The cron takes only entries older than the grace period (30 s): make the pending one that old.
    await live.db.query(
      `update tidings.outbox set created_at = created_at - interval '1 minute' where delivered_at is null and failed_at is null`,
    );
    await live.runCron();
    const failed = page.getByTestId('delivery-failed-entry');
    await eventually(() => failed.count()).toBe(1);
    expect(await failed.textContent()).toContain('the row does not match the model (created_at: not a finite timestamp)');
    await eventually(() => summary.textContent()).toBe('Nothing pending · 1 failed');
    // The run delivered the entry the unreachable URL had held back, and nothing else was left to fail.
    await eventually(() => page.getByTestId('delivery-cron').textContent()).toMatch(/^Last redelivery run .+: 1 published, 0 failed$/);
    await saveScreenshot(page, 'delivery-panel-failed');
    await failed.getByRole('button', { name: 'Replay' }).click();
    await toastWith(page, 'again: the next redelivery run sends it.').waitFor();
    expect(await entry()).toEqual({ failed_at: null, attempts: 0 });
    await eventually(() => failed.count()).toBe(0);
  });

  it('keeps a long list of failed entries in a scroller of its own, so the inbox stays in reach on a phone', async () => {
    const [, grace] = live.users;
    await live.db.query(
      `insert into public.emails (sender_id, recipient_id, subject, body, created_at)
       select $1, $2, 'Poison ' || n, 'x', '-infinity' from generate_series(1, 30) n`,
      [live.admin.id, grace!.id],
    );
    await eventually(
      async () => (await live.db.query('select count(*)::int as n from tidings.outbox where failed_at is not null')).rows[0].n,
    ).toBeGreaterThanOrEqual(30);
    for (const viewport of ['desktop', 'phone'] as const) {
      const page = await live.signIn(await live.newContext({ viewport }), live.admin);
      await eventually(() => page.getByTestId('delivery-failed-entry').count()).toBeGreaterThanOrEqual(30);
      const inboxTop = await page
        .getByRole('heading', { name: 'Inbox' })
        .evaluate((heading) => heading.getBoundingClientRect().top + window.scrollY);
      const size = await page.evaluate(() => ({ height: document.documentElement.scrollHeight, viewport: window.innerHeight }));
      // A wide screen does not scroll at all; on a phone the inbox starts within about a screen.
      if (viewport === 'desktop') expect(size.height).toBeLessThanOrEqual(size.viewport);
      else expect(inboxTop).toBeLessThan(size.viewport * 1.5);
    }
  });

  it('is not shown to users, and its API refuses them', async () => {
    const page = await live.signIn(await live.newContext(), live.users[0]!);
    expect(await page.getByTestId('delivery-panel').isHidden()).toBe(true);
    const token = (account: Account) => live.stack.supabase.accessToken(account);
    const replay = async (account: Account, body: unknown) =>
      fetch(`${live.url}/api/delivery/replay`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await token(account)}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await replay(live.users[0]!, { ids: [1] })).status).toBe(403);
    const empty = await replay(live.admin, { ids: [] });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { error: string }).error).toContain('ids');
  });

  it('refuses a replay that names an unknown or a delivered entry, says which, and replays none of it', async () => {
    const [ada] = live.users;
    const delivered = await live.insertEmail(live.admin, ada!, 'Delivered', 'Nothing to replay.');
    const { rows: poison } = await live.db.query<{ id: string }>(
      `insert into public.emails (sender_id, recipient_id, subject, body, created_at) values ($1, $2, 'Poison', 'x', '-infinity') returning id`,
      [live.admin.id, ada!.id],
    );
    const entry = async (rowId: string) =>
      (
        await live.db.query<{ id: number; delivered_at: Date | null; failed_at: Date | null }>(
          `select id::int, delivered_at, failed_at from tidings.outbox where table_name = 'public.emails' and row_id = $1 and operation = 'INSERT'`,
          [rowId],
        )
      ).rows[0];
    await eventually(async () => (await entry(delivered))?.delivered_at).toBeInstanceOf(Date);
    await eventually(async () => (await entry(poison[0]!.id))?.failed_at).toBeInstanceOf(Date);
    const deliveredId = (await entry(delivered))!.id;
    const failedId = (await entry(poison[0]!.id))!.id;
    const unknownId = (await live.db.query<{ id: number }>('select max(id)::int + 1000 as id from tidings.outbox')).rows[0]!.id;

    const replay = async (ids: number[]) =>
      fetch(`${live.url}/api/delivery/replay`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await live.stack.supabase.accessToken(live.admin)}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ ids }),
      });
    const refused = await replay([failedId, unknownId, deliveredId]);
    expect(refused.status).toBe(422);
    expect(await refused.json()).toEqual({
      error: `Nothing was replayed (only failed entries can be): no outbox entry has the id ${unknownId}; entry ${deliveredId} was delivered`,
      issues: [
        {
          path: 'ids',
          message: `No outbox entry has the id ${unknownId} (mistyped, or delivered and deleted after the retention period).`,
          value: unknownId,
        },
        { path: 'ids', message: `Outbox entry ${deliveredId} was delivered: there is nothing to replay.`, value: deliveredId },
      ],
      not_found: [unknownId],
      not_failed: [deliveredId],
    });
    expect((await entry(poison[0]!.id))?.failed_at).toBeInstanceOf(Date);

    const replayed = await replay([failedId]);
    expect({ status: replayed.status, body: await replayed.json() }).toEqual({ status: 200, body: { replayed: 1 } });
    expect((await entry(poison[0]!.id))?.failed_at).toBeNull();
  });
});
