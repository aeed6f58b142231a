import { describe, expect, it } from 'vitest';
import { BatchPublishError } from '../../../functions/broadcast/broadcaster.ts';
import { deliverChange, PublishFailed } from '../../../functions/broadcast/delivery.ts';
import { type BroadcastMessage, EmailDeleted, EmailReceived, EmailUpdated } from '../../../functions/broadcast/events.ts';
import { webhookPayload } from '../../../functions/observe/payload.ts';
import { seedUsers } from '../../support/seed-users.ts';
import { failing, now, secondsAgo, setup } from '../../support/workerd/memory-delivery-store.ts';
import { emailRow, payload } from '../../support/workerd/webhooks.ts';

const change = (
  type: 'INSERT' | 'UPDATE' | 'DELETE',
  record: ReturnType<typeof emailRow> | null,
  old: ReturnType<typeof emailRow> | null = null,
) => webhookPayload.parse(JSON.parse(payload(type, record, old)));

/** A one-row insert as the trigger sends it: Supabase's payload plus the sender's name. */
const insertWithSender = (record: ReturnType<typeof emailRow>, displayName: string) =>
  webhookPayload.parse({
    type: 'INSERT',
    table: 'emails',
    schema: 'public',
    record,
    old_record: null,
    sender: { display_name: displayName },
  });

/** The ids of a multi-row insert, as the trigger sends them. */
const insertedIds = (...ids: string[]) => webhookPayload.parse({ type: 'INSERT', table: 'emails', schema: 'public', record_ids: ids });

describe('delivering an inserted email', () => {
  it('publishes email.received with the sender’s name, then records the delivery', async () => {
    const { store, fake, deps } = setup();
    const row = emailRow({ body: 'x'.repeat(500) });
    store.add(row);
    expect(await deliverChange(change('INSERT', row), deps)).toEqual({ status: 'published', event: 'email.received', recorded: true });
    fake.assertBroadcast(
      EmailReceived,
      (data, channels) =>
        data.id === row.id &&
        data.sender_name === seedUsers.admin.name &&
        data.preview.length === 141 &&
        channels[0] === `private-user.${row.recipient_id}`,
    );
    expect(store.rows.get(row.id)).toMatchObject({ delivered_at: now.toISOString(), delivery_attempts: 1 });
  });

  it('does not publish a row that was already delivered when the same webhook arrives again', async () => {
    const { store, fake, deps } = setup();
    const row = emailRow();
    store.add(row);
    await deliverChange(change('INSERT', row), deps);
    expect(await deliverChange(change('INSERT', row), deps)).toEqual({ status: 'already_delivered', event: null });
    fake.assertBroadcastTimes(EmailReceived, 1);
    expect(store.rows.get(row.id)!.delivery_attempts).toBe(1);
  });

  it('publishes nothing for a row deleted before its webhook arrived', async () => {
    const { fake, deps } = setup();
    expect(await deliverChange(change('INSERT', emailRow()), deps)).toEqual({ status: 'gone', event: null });
    fake.assertNothingBroadcast();
  });

  it('counts a failed attempt, leaves the row undelivered and fails', async () => {
    const { store, deps } = setup();
    const row = emailRow();
    store.add(row);
    await expect(deliverChange(change('INSERT', row), { ...deps, publish: failing })).rejects.toThrow(PublishFailed);
    expect(store.rows.get(row.id)).toMatchObject({ delivered_at: null, delivery_attempts: 1 });
  });

  it('still succeeds when publishing worked but recording did not (the cron republishes; clients de-duplicate)', async () => {
    const { store, fake, deps } = setup();
    const row = emailRow();
    store.add(row);
    store.recordAttempt = failing;
    expect(await deliverChange(change('INSERT', row), deps)).toEqual({ status: 'published', event: 'email.received', recorded: false });
    fake.assertBroadcastTimes(EmailReceived, 1);
  });
});

describe('publishing a one-row insert from its payload', () => {
  const window = { publishFromPayloadWithinMs: 15_000 };

  it('publishes a fresh row with the payload’s sender name before reading anything, then records it', async () => {
    const { store, fake, deps } = setup();
    const row = emailRow({ created_at: secondsAgo(1) });
    store.add(row);
    expect(await deliverChange(insertWithSender(row, 'Ada from the payload'), { ...deps, ...window })).toEqual({
      status: 'published',
      event: 'email.received',
      recorded: true,
    });
    fake.assertBroadcast(EmailReceived, (data) => data.id === row.id && data.sender_name === 'Ada from the payload');
    expect(store.reads).toBe(0);
    expect(store.rows.get(row.id)).toMatchObject({ delivered_at: now.toISOString(), delivery_attempts: 1 });
  });

  it('reads the row first when the payload is older than the window, so a delivered row is not published again', async () => {
    const { store, fake, deps } = setup();
    const row = emailRow({ created_at: secondsAgo(20) });
    store.add({ ...row, delivered_at: secondsAgo(19), delivery_attempts: 1 });
    expect(await deliverChange(insertWithSender(row, 'Ada'), { ...deps, ...window })).toEqual({ status: 'already_delivered', event: null });
    fake.assertNothingBroadcast();
    expect(store.reads).toBe(1);
  });

  it('reads the row first when the window is off or the payload has no sender', async () => {
    const { store, fake, deps } = setup();
    const row = emailRow({ created_at: secondsAgo(1) });
    store.add(row);
    await deliverChange(insertWithSender(row, 'Ada from the payload'), deps);
    await deliverChange(change('INSERT', { ...row, delivered_at: null }), { ...deps, ...window });
    expect(store.reads).toBe(2);
    fake.assertBroadcast(EmailReceived, (data) => data.sender_name === seedUsers.admin.name);
    fake.assertBroadcastTimes(EmailReceived, 1);
  });

  it('queues the recording with recordLater instead of writing before it answers', async () => {
    const { store, fake, deps } = setup();
    const row = emailRow({ created_at: secondsAgo(1) });
    store.add(row);
    const queued: string[] = [];
    expect(
      await deliverChange(insertWithSender(row, 'Ada'), { ...deps, ...window, recordLater: (published) => queued.push(published.id) }),
    ).toEqual({ status: 'published', event: 'email.received', recorded: 'later' });
    fake.assertBroadcastTimes(EmailReceived, 1);
    expect(queued).toEqual([row.id]);
    expect(store.rows.get(row.id)!.delivered_at).toBeNull();
  });

  it('queues nothing and counts the attempt when publishing a fresh row fails', async () => {
    const { store, deps } = setup();
    const row = emailRow({ created_at: secondsAgo(1) });
    store.add(row);
    const queued: string[] = [];
    await expect(
      deliverChange(insertWithSender(row, 'Ada'), {
        ...deps,
        ...window,
        publish: failing,
        recordLater: (published) => queued.push(published.id),
      }),
    ).rejects.toThrow(PublishFailed);
    expect(queued).toEqual([]);
    expect(store.rows.get(row.id)).toMatchObject({ delivered_at: null, delivery_attempts: 1 });
  });

  it('says the delivery was not recorded when a repeated fresh webhook published the row again (clients drop it by id)', async () => {
    const { store, fake, deps } = setup();
    const row = emailRow({ created_at: secondsAgo(1) });
    store.add(row);
    await deliverChange(insertWithSender(row, 'Ada'), { ...deps, ...window });
    expect(await deliverChange(insertWithSender(row, 'Ada'), { ...deps, ...window })).toEqual({
      status: 'published',
      event: 'email.received',
      recorded: false,
    });
    fake.assertBroadcastTimes(EmailReceived, 2);
    expect(store.rows.get(row.id)!.delivery_attempts).toBe(1);
  });
});

describe('delivering a multi-row insert', () => {
  it('reads the rows once, publishes the undelivered ones in one batch, oldest first, and records them in one write', async () => {
    const { store, fake, deps } = setup();
    const newer = emailRow({ created_at: secondsAgo(1) });
    const older = emailRow({ created_at: secondsAgo(2) });
    const delivered = emailRow({ created_at: secondsAgo(3), delivered_at: secondsAgo(2), delivery_attempts: 1 });
    const deleted = emailRow();
    store.add(newer, older, delivered);
    const batches: BroadcastMessage[][] = [];
    const publishBatch = async (messages: BroadcastMessage[]) => {
      batches.push(messages);
      for (const message of messages) await deps.publish(message);
    };
    expect(await deliverChange(insertedIds(newer.id, deleted.id, older.id, delivered.id), { ...deps, publishBatch })).toEqual({
      status: 'published',
      event: 'email.received',
      published: 2,
      already_delivered: 1,
      gone: 1,
      recorded: 2,
    });
    expect(batches).toHaveLength(1);
    expect(fake.broadcasted(EmailReceived).map((b) => (b.data as { id: string }).id)).toEqual([older.id, newer.id]);
    expect(fake.broadcasted(EmailReceived).every((b) => (b.data as { sender_name: string }).sender_name === seedUsers.admin.name)).toBe(
      true,
    );
    expect(store.reads).toBe(1);
    expect(store.deliveryWrites).toBe(1);
    expect(store.rows.get(newer.id)).toMatchObject({ delivered_at: now.toISOString(), delivery_attempts: 1 });
  });

  it('records what went out before a batch failed, leaves the rest undelivered and fails', async () => {
    const { store, fake, deps } = setup();
    const rows = [
      emailRow({ created_at: secondsAgo(3) }),
      emailRow({ created_at: secondsAgo(2) }),
      emailRow({ created_at: secondsAgo(1) }),
    ];
    store.add(...rows);
    const failsAfterOne = async (messages: BroadcastMessage[]) => {
      await deps.publish(messages[0]!);
      throw new BatchPublishError(1, new Error('server down'));
    };
    await expect(deliverChange(insertedIds(...rows.map((row) => row.id)), { ...deps, publishBatch: failsAfterOne })).rejects.toThrow(
      `Publishing email.received failed for 2 of 3 emails (from ${rows[1]!.id}): server down`,
    );
    fake.assertBroadcastTimes(EmailReceived, 1);
    expect(store.rows.get(rows[0]!.id)!.delivered_at).toBe(now.toISOString());
    expect(store.rows.get(rows[1]!.id)).toMatchObject({ delivered_at: null, delivery_attempts: 1 });
    expect(store.rows.get(rows[2]!.id)).toMatchObject({ delivered_at: null, delivery_attempts: 0 });
  });

  it('publishes one at a time without a batch call', async () => {
    const { store, fake, deps } = setup();
    const rows = [emailRow({ created_at: secondsAgo(2) }), emailRow({ created_at: secondsAgo(1) })];
    store.add(...rows);
    expect(await deliverChange(insertedIds(...rows.map((row) => row.id)), deps)).toMatchObject({ published: 2, recorded: 2 });
    fake.assertBroadcastTimes(EmailReceived, 2);
  });
});

describe('delivering updates and deletes', () => {
  it('publishes email.updated and email.deleted without touching delivery bookkeeping', async () => {
    const { store, fake, deps } = setup();
    const row = emailRow({ delivered_at: '2026-11-28T02:00:00Z', delivery_attempts: 1 });
    store.add(row);
    await deliverChange(change('UPDATE', { ...row, read_at: '2026-11-28T02:59:00Z' }, row), deps);
    await deliverChange(change('DELETE', null, row), deps);
    fake.assertBroadcast(EmailUpdated, (data) => data.read_at === '2026-11-28T02:59:00Z');
    fake.assertBroadcast(EmailDeleted, (data) => data.id === row.id);
    expect(store.rows.get(row.id)!.delivery_attempts).toBe(1);
  });

  it('fails with PublishFailed when the broadcaster refuses', async () => {
    const { deps } = setup();
    await expect(deliverChange(change('DELETE', null, emailRow()), { ...deps, publish: failing })).rejects.toThrow(
      /^Publishing email.deleted for .* failed: server down$/,
    );
  });
});
