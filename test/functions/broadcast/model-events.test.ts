import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MAX_EVENT_DATA_BYTES } from '../../../functions/broadcast/events.ts';
import { defineModel, MAX_ROWS_UPDATED_TOGETHER, ModelEventError, ModelRegistry } from '../../../functions/broadcast/model.ts';
import { emailModel, emailModelEvents } from '../../../functions/broadcast/model-events.ts';
import { seedUsers } from '../../support/seed-users.ts';
import { announcedEmail, emailRow } from '../../support/workerd/webhooks.ts';

const recipient = seedUsers.ada.id;
const sender = seedUsers.admin.id;

describe('email model events', () => {
  it('sends email.received to the recipient’s private channel with a summary', () => {
    const email = emailRow({ subject: 'Quarterly numbers', body: 'Hello Ada,\n\nthe numbers are in.' });
    const message = emailModelEvents.created(email, seedUsers.admin.name);
    expect(message.event.name).toBe('email.received');
    expect(message.channels).toEqual([`private-user.${recipient}`]);
    expect(message.data).toEqual({
      id: email.id,
      sender_id: sender,
      sender_name: seedUsers.admin.name,
      subject: 'Quarterly numbers',
      preview: 'Hello Ada, the numbers are in.',
      created_at: email.created_at,
    });
  });

  it('keeps the largest possible email’s summary far below Pusher’s 10 KB', () => {
    const message = emailModelEvents.created(emailRow({ subject: 'S'.repeat(200), body: '€'.repeat(20_000) }), 'N'.repeat(500));
    const bytes = new TextEncoder().encode(JSON.stringify(message.data)).length;
    expect(bytes).toBeLessThan(2_000);
    expect(bytes).toBeLessThan(MAX_EVENT_DATA_BYTES);
  });

  it('maps updates and deletes to email.updated and email.deleted', () => {
    const email = emailRow({ read_at: '2026-11-28T03:00:00+00:00' });
    expect(emailModelEvents.updated(email)).toMatchObject({
      channels: [`private-user.${recipient}`],
      data: { id: email.id, read_at: email.read_at },
    });
    expect(emailModelEvents.deleted(email)).toMatchObject({ event: { name: 'email.deleted' }, data: { id: email.id } });
  });

  it('fits the most rows updated together, with the longest timestamps Postgres prints, in one emails.updated under 10 KB', () => {
    const rows = Array.from({ length: MAX_ROWS_UPDATED_TOGETHER }, () => emailRow({ read_at: '2026-11-28T03:00:00.123456+00:00' }));
    const [message, ...others] = emailModelEvents.updatedTogether(rows);
    expect(others).toEqual([]);
    expect(message!.data).toEqual({ emails: rows.map((row) => ({ id: row.id, read_at: row.read_at })) });
    expect(new TextEncoder().encode(JSON.stringify(message!.data)).length).toBeLessThan(MAX_EVENT_DATA_BYTES);
  });
});

describe('the emails model (an observed table’s declaration)', () => {
  it('maps an inserted row read from email_announcements to email.received with the sender’s name', () => {
    const row = emailRow({ body: 'Dear   Ada,\nhello' });
    const [message] = emailModel.messagesFor({ operation: 'INSERT', record: announcedEmail(row), changedColumns: [] });
    expect(message).toMatchObject({
      event: { name: 'email.received' },
      channels: [`private-user.${recipient}`],
      data: { id: row.id, sender_name: seedUsers.admin.name, preview: 'Dear Ada, hello' },
    });
  });

  it('maps a deleted row as the outbox kept it (id, sender, recipient) to email.deleted', () => {
    const row = emailRow();
    const old = { id: row.id, sender_id: row.sender_id, recipient_id: row.recipient_id };
    expect(emailModel.messagesFor({ operation: 'DELETE', record: old, changedColumns: [] })).toMatchObject([
      { event: { name: 'email.deleted' }, data: { id: row.id } },
    ]);
  });

  it('refuses a row that breaks the model with a ModelEventError naming the column', () => {
    const record = announcedEmail(emailRow({ created_at: 'infinity' }));
    expect(() => emailModel.messagesFor({ operation: 'INSERT', record, changedColumns: [] })).toThrow(
      new ModelEventError('public.emails INSERT: the row does not match the model (created_at: not a finite timestamp)'),
    );
    const unreadable = announcedEmail(emailRow({ read_at: '-infinity' }));
    expect(() => emailModel.messagesFor({ operation: 'UPDATE', record: unreadable, changedColumns: ['read_at'] })).toThrow(
      new ModelEventError('public.emails UPDATE: the row does not match the model (read_at: not a finite timestamp)'),
    );
  });

  it('broadcasts the read state of a row whose other columns break the model: an update checks only what it sends', () => {
    const row = emailRow({ created_at: '-infinity', read_at: '2026-12-04T10:00:00+00:00' });
    expect(emailModel.messagesFor({ operation: 'UPDATE', record: announcedEmail(row), changedColumns: ['read_at'] })).toMatchObject([
      { event: { name: 'email.updated' }, data: { id: row.id, read_at: row.read_at } },
    ]);
    const together = emailModel.updatesTogether!([announcedEmail(row), announcedEmail(emailRow())], ['read_at']);
    expect(together.refused.size).toBe(0);
    expect(together.messages).toHaveLength(1);
  });

  it('refuses a row whose event breaks its schema (a subject too long for email.received)', () => {
    const record = announcedEmail(emailRow({ subject: 'S'.repeat(201) }));
    expect(() => emailModel.messagesFor({ operation: 'INSERT', record, changedColumns: [] })).toThrow(ModelEventError);
  });

  it('publishes nothing for a change the model declares no event for', () => {
    const model = defineModel({ table: 'public.notes', row: z.object({ id: z.string() }) });
    expect(model.messagesFor({ operation: 'INSERT', record: { id: 'x' }, changedColumns: [] })).toEqual([]);
    expect(() => new ModelRegistry([model, model])).toThrow('Two models declare public.notes');
  });
});
