import { describe, expect, it } from 'vitest';
import { EmailDeleted, EmailReceived, EmailUpdated, previewOf } from '../../../functions/broadcast/events.ts';
import { emailModelEvents } from '../../../functions/broadcast/model-events.ts';
import { seedUsers } from '../../support/seed-users.ts';
import { emailRow } from '../../support/workerd/webhooks.ts';

const recipient = seedUsers.ada.id;

describe('events', () => {
  it('cuts the preview at 140 characters without splitting an emoji', () => {
    expect(previewOf(`${'a'.repeat(139)}😀😀`)).toBe(`${'a'.repeat(139)}😀…`);
    expect(previewOf('short   body\n')).toBe('short body');
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
    ).toThrow('email.received payload does not match its schema: subject (too_small)');
  });

  it('parses a received payload on the client side with the same schema', () => {
    const message = emailModelEvents.created(emailRow(), 'Grace');
    expect(EmailReceived.schema.parse(JSON.parse(JSON.stringify(message.data)))).toEqual(message.data);
    expect(EmailDeleted.channel({ recipient_id: recipient })).toBe(`private-user.${recipient}`);
  });
});
