import { describe, expect, it } from 'vitest';
import { BatchPublishError, BroadcastRefused } from '../../../functions/broadcast/broadcaster.ts';
import { deliverEntries } from '../../../functions/broadcast/delivery.ts';
import {
  type BroadcastMessage,
  EmailDeleted,
  EmailReceived,
  EmailsUpdated,
  EmailUpdated,
  userChannel,
} from '../../../functions/broadcast/events.ts';
import { PublishError } from '../../../functions/realtime/publishing.ts';
import { seedUsers } from '../../support/seed-users.ts';
import { setup } from '../../support/workerd/memory-outbox.ts';
import { announcedEmail, emailRow, outboxEntry } from '../../support/workerd/webhooks.ts';

describe('delivering claimed outbox entries', () => {
  it('publishes each change from the row the claim read: received, updated, deleted', async () => {
    const { fake, deps } = setup();
    const row = emailRow({ body: 'x'.repeat(500), read_at: '2026-11-28T03:00:00+00:00' });
    const entries = [
      outboxEntry({ row_id: row.id, record: announcedEmail(row) }),
      outboxEntry({ operation: 'UPDATE', row_id: row.id, changed_columns: ['read_at'], record: announcedEmail(row) }),
      outboxEntry({
        operation: 'DELETE',
        row_id: row.id,
        record: { id: row.id, sender_id: row.sender_id, recipient_id: row.recipient_id },
      }),
    ];
    const outcome = await deliverEntries(entries, deps);
    expect(outcome).toEqual({
      settlement: { delivered: entries.map((entry) => entry.id), failed: [], retry: [], released: [] },
      published: 3,
      skipped: 0,
      failed: 0,
      failure: null,
    });
    expect(fake.all().map((broadcast) => [broadcast.name, broadcast.channels])).toEqual([
      [EmailReceived.name, [`private-user.${row.recipient_id}`]],
      [EmailUpdated.name, [`private-user.${row.recipient_id}`]],
      [EmailDeleted.name, [`private-user.${row.recipient_id}`]],
    ]);
    fake.assertBroadcast(EmailReceived, (data) => data.sender_name === seedUsers.admin.name && data.preview.length === 141);
    fake.assertBroadcast(EmailUpdated, (data) => data.read_at === row.read_at);
  });

  it('delivers an entry whose row is gone without publishing anything', async () => {
    const { fake, deps } = setup();
    const gone = outboxEntry({ record: null });
    expect(await deliverEntries([gone], deps)).toMatchObject({ settlement: { delivered: [gone.id] }, published: 0, skipped: 1 });
    fake.assertNothingBroadcast();
  });

  it('fails an entry whose event cannot be built, with the reason, and still publishes the others', async () => {
    const { fake, deps } = setup();
    const poison = outboxEntry({ record: announcedEmail(emailRow({ created_at: '-infinity' })) });
    const after = Array.from({ length: 5 }, () => outboxEntry());
    const outcome = await deliverEntries([poison, ...after], deps);
    expect(outcome.settlement.failed).toEqual([
      { id: poison.id, reason: 'public.emails INSERT: the row does not match the model (created_at: not a finite timestamp)' },
    ]);
    expect(outcome.settlement.delivered).toEqual(after.map((entry) => entry.id));
    fake.assertBroadcastTimes(EmailReceived, 5);
  });

  it('fails an entry of a table no model declares', async () => {
    const { deps } = setup();
    const entry = outboxEntry({ table_name: 'public.unknown' });
    expect((await deliverEntries([entry], deps)).settlement.failed).toEqual([
      { id: entry.id, reason: 'No model is declared for public.unknown: add one to functions/broadcast/model-events.ts' },
    ]);
  });

  it('delivers what went out before a batch failed, retries the entry it stopped at and releases the rest', async () => {
    const { deps } = setup();
    const entries = Array.from({ length: 5 }, () => outboxEntry());
    const published: BroadcastMessage[] = [];
    const outcome = await deliverEntries(entries, {
      ...deps,
      publishBatch: async (messages) => {
        published.push(...messages.slice(0, 2));
        throw new BatchPublishError(2, new Error('server down'));
      },
    });
    expect(published).toHaveLength(2);
    expect(outcome.settlement).toEqual({
      delivered: [entries[0]!.id, entries[1]!.id],
      failed: [],
      retry: [{ id: entries[2]!.id, error: 'server down' }],
      released: [entries[3]!.id, entries[4]!.id],
    });
    expect(outcome).toMatchObject({ published: 2, failure: { entryId: entries[2]!.id } });
  });

  it.each([
    ['a 4xx from the service', new BroadcastRefused('Pusher refused it: 413 Request Entity Too Large', 413), false],
    ['a wrong secret (401)', new BroadcastRefused('Pusher refused it: 401 Invalid signature', 401), true],
    ['an app disabled or over its quota (403)', new BroadcastRefused('Ably refused it: 403 (40300) Account disabled', 403), true],
    ['the realtime server’s own check', new PublishError(400, "Invalid event name: ''"), false],
    ['throttling (429)', new BroadcastRefused('Ably refused it: 429 Rate limit', 429), true],
    ['a 5xx', new BroadcastRefused('Pusher answered 503', 503), true],
    ['no answer', new BroadcastRefused('Ably cannot be reached', null), true],
  ])('after %s, fails the entry at once or retries it', async (_, cause, retried) => {
    const { deps } = setup();
    const entries = Array.from({ length: 3 }, () => outboxEntry());
    const outcome = await deliverEntries(entries, {
      ...deps,
      publishBatch: async () => {
        throw new BatchPublishError(1, cause);
      },
    });
    expect(outcome.settlement.delivered).toEqual([entries[0]!.id]);
    expect(outcome.settlement.retry).toEqual(retried ? [{ id: entries[1]!.id, error: cause.message }] : []);
    expect(outcome.settlement.failed).toEqual(
      retried ? [] : [{ id: entries[1]!.id, reason: `the broadcaster refused it: ${cause.message}` }],
    );
    expect(outcome.settlement.released).toEqual([entries[2]!.id]);
  });

  /** An UPDATE entry of `row` (read state changed), as a claim returns it. */
  const readStateChange = (row = emailRow({ read_at: '2026-11-28T03:00:00+00:00' })) =>
    outboxEntry({ operation: 'UPDATE', row_id: row.id, changed_columns: ['read_at'], record: announcedEmail(row) });
  const broadcasts = (fake: ReturnType<typeof setup>['fake']) =>
    fake
      .all()
      .map((broadcast): [string, string | undefined, { emails?: unknown[] }] => [
        broadcast.name,
        broadcast.channels[0],
        broadcast.data as { emails?: unknown[] },
      ]);

  it('broadcasts a mass update’s rows together, one emails.updated per recipient, in order with the other changes', async () => {
    const { fake, deps } = setup();
    const forAda = [readStateChange(), readStateChange()];
    const forGrace = readStateChange(emailRow({ recipient_id: seedUsers.grace.id, read_at: null }));
    const inserted = outboxEntry();
    const deleted = outboxEntry({ operation: 'DELETE', record: { id: crypto.randomUUID(), recipient_id: seedUsers.ada.id } });
    // A row changed twice in the statements is read as it is now both times: it is listed once.
    const entries = [inserted, forAda[0]!, forGrace, forAda[1]!, { ...forAda[0]!, id: forAda[1]!.id + 1 }, deleted];
    const outcome = await deliverEntries(entries, deps);
    expect(outcome).toMatchObject({ published: 6, skipped: 0, failed: 0, failure: null });
    expect(outcome.settlement.delivered.sort()).toEqual(entries.map((entry) => entry.id).sort());
    const state = (entry: (typeof entries)[number]) => {
      const record = entry.record as { id: string; read_at: string | null };
      return { id: record.id, read_at: record.read_at };
    };
    expect(broadcasts(fake)).toEqual([
      [EmailReceived.name, userChannel(seedUsers.ada.id), expect.objectContaining({ id: inserted.row_id })],
      [EmailsUpdated.name, userChannel(seedUsers.ada.id), { emails: forAda.map(state) }],
      [EmailsUpdated.name, userChannel(seedUsers.grace.id), { emails: [state(forGrace)] }],
      [EmailDeleted.name, userChannel(seedUsers.ada.id), { id: (deleted.record as { id: string }).id }],
    ]);
  });

  it('broadcasts at most 100 rows together, and one row changed alone as email.updated', async () => {
    const { fake, deps } = setup();
    const many = Array.from({ length: 150 }, () => readStateChange());
    const alone = readStateChange();
    await deliverEntries([...many, outboxEntry(), alone], deps);
    expect(broadcasts(fake).map(([name, , data]) => [name, data.emails?.length ?? 1])).toEqual([
      [EmailsUpdated.name, 100],
      [EmailsUpdated.name, 50],
      [EmailReceived.name, 1],
      [EmailUpdated.name, 1],
    ]);
  });

  it('fails a poison row of a mass update alone, and broadcasts the others together; a row gone since publishes nothing', async () => {
    const { fake, deps } = setup();
    const poison = readStateChange(emailRow({ read_at: '-infinity' }));
    const gone = { ...readStateChange(), record: null };
    const good = [readStateChange(), readStateChange()];
    const outcome = await deliverEntries([good[0]!, poison, gone, good[1]!], deps);
    expect(outcome.settlement.failed).toEqual([
      { id: poison.id, reason: 'public.emails UPDATE: the row does not match the model (read_at: not a finite timestamp)' },
    ]);
    expect(outcome.settlement.delivered.sort()).toEqual([good[0]!.id, good[1]!.id, gone.id].sort());
    expect(outcome).toMatchObject({ published: 2, skipped: 1, failed: 1 });
    fake.assertBroadcastTimes(EmailsUpdated, 1);
    fake.assertBroadcast(EmailsUpdated, (data) => data.emails.map((email) => email.id).join() === good.map((entry) => entry.row_id).join());
  });

  it('retries every entry of a mass update whose event did not go out, and releases the ones after it', async () => {
    const { deps } = setup();
    const before = outboxEntry();
    const together = [readStateChange(), readStateChange(), readStateChange()];
    const after = outboxEntry();
    const outcome = await deliverEntries([before, ...together, after], {
      ...deps,
      publishBatch: async () => {
        throw new BatchPublishError(1, new Error('server down'));
      },
    });
    expect(outcome.settlement).toEqual({
      delivered: [before.id],
      failed: [],
      retry: together.map((entry) => ({ id: entry.id, error: 'server down' })),
      released: [after.id],
    });
    expect(outcome).toMatchObject({ published: 1, failure: { entryId: together[0]!.id } });
  });

  it('publishes one at a time without a batch call, in entry order', async () => {
    const { fake, deps } = setup();
    const entries = Array.from({ length: 3 }, () => outboxEntry());
    await deliverEntries(entries, deps);
    expect(fake.all().map((broadcast) => (broadcast.data as { id: string }).id)).toEqual(entries.map((entry) => entry.row_id));
  });
});
