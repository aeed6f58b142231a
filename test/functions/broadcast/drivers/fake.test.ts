import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { broadcast } from '../../../../functions/broadcast/broadcast.ts';
import { BroadcastFake } from '../../../../functions/broadcast/drivers/fake.ts';
import { EmailDeleted, EmailReceived } from '../../../../functions/broadcast/events.ts';
import { emailModelEvents, type EmailRow } from '../../../../functions/broadcast/model-events.ts';

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

describe('the broadcast fake', () => {
  it('fails each assertion with a message that says what was broadcast', async () => {
    const fake = new BroadcastFake();
    expect(() => fake.assertBroadcast(EmailReceived)).toThrow('Expected email.received to be broadcast, but nothing was broadcast');
    await broadcast(env, emailModelEvents.deleted(row()), { via: fake });
    expect(() => fake.assertNothingBroadcast()).toThrow(`Expected nothing to be broadcast, but broadcast were: email.deleted on private-user.${recipient}`);
    expect(() => fake.assertNotBroadcast(EmailDeleted)).toThrow('Expected email.deleted not to be broadcast, but it was broadcast 1 time(s)');
    expect(() => fake.assertBroadcastTimes(EmailDeleted, 2)).toThrow('Expected email.deleted to be broadcast 2 time(s), but it was broadcast 1 time(s)');
    expect(() => fake.assertBroadcastOn('private-user.other', EmailDeleted)).toThrow(/to be broadcast on private-user.other/);
    expect(() => fake.assertBroadcast(EmailDeleted, (data) => data.id === 'nope')).toThrow(/matching the predicate/);
  });

});
