import { describe, expect, it } from 'vitest';
import { EmailDeleted, EmailReceived, EmailUpdated, previewOf } from '../../../functions/broadcast/events.ts';
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

describe('events', () => {
  it('cuts the preview at 140 characters without splitting an emoji', () => {
    expect(previewOf('a'.repeat(139) + '😀😀')).toBe('a'.repeat(139) + '😀…');
    expect(previewOf('short   body\n')).toBe('short body');
  });

  it('refuses a payload that breaks the schema', () => {
    expect(() => EmailUpdated.to({ recipient_id: recipient }, { id: 'not-an-id', read_at: 'yesterday' })).toThrow(
      'email.updated payload does not match its schema: id (invalid_format), read_at (Invalid timestamp)',
    );
    expect(() => EmailReceived.to({ recipient_id: recipient }, { ...(emailModelEvents.created(row(), 'x').data as object), subject: '' } as never)).toThrow(
      'email.received payload does not match its schema: subject (too_small)',
    );
  });

  it('parses a received payload on the client side with the same schema', () => {
    const message = emailModelEvents.created(row(), 'Grace');
    expect(EmailReceived.schema.parse(JSON.parse(JSON.stringify(message.data)))).toEqual(message.data);
    expect(EmailDeleted.channel({ recipient_id: recipient })).toBe(`private-user.${recipient}`);
  });
});
