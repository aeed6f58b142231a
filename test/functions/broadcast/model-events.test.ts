import { describe, expect, it } from 'vitest';
import { MAX_EVENT_DATA_BYTES } from '../../../functions/broadcast/events.ts';
import { emailModelEvents, type EmailRow } from '../../../functions/broadcast/model-events.ts';

const recipient = '7b0d1c1e-5a55-4a8e-9a53-1d6b2f0c9e01';
const sender = '00000000-0000-0000-0000-000000000001';

function row(overrides: Partial<EmailRow> = {}): EmailRow {
  return {
    id: crypto.randomUUID(),
    sender_id: sender,
    recipient_id: recipient,
    subject: 'Quarterly numbers',
    body: 'Hello Ada,\n\nthe numbers are in.',
    created_at: '2026-11-28T02:01:15.123456+00:00',
    read_at: null,
    delivered_at: null,
    delivery_attempts: 0,
    ...overrides,
  };
}

describe('email model events', () => {
  it('sends email.received to the recipient’s private channel with a summary', () => {
    const email = row();
    const message = emailModelEvents.created(email, 'Grace Hopper');
    expect(message.event.name).toBe('email.received');
    expect(message.channels).toEqual([`private-user.${recipient}`]);
    expect(message.data).toEqual({
      id: email.id,
      sender_id: sender,
      sender_name: 'Grace Hopper',
      subject: 'Quarterly numbers',
      preview: 'Hello Ada, the numbers are in.',
      created_at: email.created_at,
    });
  });

  it('keeps the largest possible email’s summary far below Pusher’s 10 KB', () => {
    const message = emailModelEvents.created(row({ subject: 'S'.repeat(200), body: '€'.repeat(20_000) }), 'N'.repeat(500));
    const bytes = new TextEncoder().encode(JSON.stringify(message.data)).length;
    expect(bytes).toBeLessThan(2_000);
    expect(bytes).toBeLessThan(MAX_EVENT_DATA_BYTES);
  });

  it('maps updates and deletes to email.updated and email.deleted', () => {
    const email = row({ read_at: '2026-11-28T03:00:00+00:00' });
    expect(emailModelEvents.updated(email)).toMatchObject({ channels: [`private-user.${recipient}`], data: { id: email.id, read_at: email.read_at } });
    expect(emailModelEvents.deleted(email)).toMatchObject({ event: { name: 'email.deleted' }, data: { id: email.id } });
  });

});
