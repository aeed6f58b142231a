import { describe, expect, it } from 'vitest';
import { MAX_EVENT_DATA_BYTES } from '../../../functions/broadcast/events.ts';
import { emailModelEvents } from '../../../functions/broadcast/model-events.ts';
import { seedUsers } from '../../support/seed-users.ts';
import { emailRow } from '../../support/workerd/webhooks.ts';

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
});
