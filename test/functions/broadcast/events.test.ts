import { describe, expect, it } from 'vitest';
import {
  AnnouncementCreated,
  characters,
  EmailDeleted,
  EmailReceived,
  EmailUpdated,
  previewOf,
  TextLimits,
} from '../../../functions/broadcast/events.ts';
import { emailModelEvents } from '../../../functions/broadcast/model-events.ts';
import { seedUsers } from '../../support/seed-users.ts';
import { emailRow } from '../../support/workerd/webhooks.ts';

const recipient = seedUsers.ada.id;

describe('events', () => {
  it('cuts the preview at 140 characters without splitting an emoji', () => {
    expect(previewOf(`${'a'.repeat(139)}😀😀`)).toBe(`${'a'.repeat(139)}😀…`);
    expect(previewOf('short   body\n')).toBe('short body');
  });

  it('counts text limits in characters, as the database does: 200 emoji make a valid subject and title, 201 do not', () => {
    const received = (subject: string) =>
      EmailReceived.schema.safeParse({
        id: crypto.randomUUID(),
        sender_id: crypto.randomUUID(),
        sender_name: 'Ada',
        subject,
        preview: '',
        created_at: '2026-12-03T12:00:00Z',
      }).success;
    expect('😀'.repeat(200).length).toBe(400); // UTF-16 units
    expect(characters('😀'.repeat(200))).toBe(200);
    expect(received('😀'.repeat(200))).toBe(true);
    expect(received('😀'.repeat(201))).toBe(false);
    expect(received('')).toBe(false);
    const announced = (title: string) =>
      AnnouncementCreated.schema.safeParse({
        id: crypto.randomUUID(),
        sender_id: crypto.randomUUID(),
        title,
        body: '',
        created_at: '2026-12-03T12:00:00Z',
      }).success;
    expect(announced('😀'.repeat(TextLimits.announcementTitle))).toBe(true);
    expect(announced('😀'.repeat(TextLimits.announcementTitle + 1))).toBe(false);
  });

  it('refuses a payload that breaks the schema', () => {
    expect(() => EmailUpdated.to({ recipient_id: recipient }, { id: 'not-an-id', read_at: 'yesterday' })).toThrow(
      'email.updated payload does not match its schema: id (invalid_format), read_at (Invalid timestamp)',
    );
    expect(() =>
      EmailReceived.to({ recipient_id: recipient }, {
        ...(emailModelEvents.created(emailRow(), 'x').data as object),
        subject: '',
      } as never),
    ).toThrow('email.received payload does not match its schema: subject (between 1 and 200 characters)');
  });

  it('parses a received payload on the client side with the same schema', () => {
    const message = emailModelEvents.created(emailRow(), 'Grace');
    expect(EmailReceived.schema.parse(JSON.parse(JSON.stringify(message.data)))).toEqual(message.data);
    expect(EmailDeleted.channel({ recipient_id: recipient })).toBe(`private-user.${recipient}`);
  });
});
