import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { broadcast } from '../../../../functions/broadcast/broadcast.ts';
import { BroadcastFake } from '../../../../functions/broadcast/drivers/fake.ts';
import { EmailDeleted, EmailReceived } from '../../../../functions/broadcast/events.ts';
import { emailModelEvents } from '../../../../functions/broadcast/model-events.ts';
import { seedUsers } from '../../../support/seed-users.ts';
import { emailRow } from '../../../support/workerd/webhooks.ts';

const recipient = seedUsers.ada.id;

describe('the broadcast fake', () => {
  it('fails each assertion with a message that says what was broadcast', async () => {
    const fake = new BroadcastFake();
    expect(() => fake.assertBroadcast(EmailReceived)).toThrow('Expected email.received to be broadcast, but nothing was broadcast');
    await broadcast(env, emailModelEvents.deleted(emailRow()), { via: fake });
    expect(() => fake.assertNothingBroadcast()).toThrow(
      `Expected nothing to be broadcast, but broadcast were: email.deleted on private-user.${recipient}`,
    );
    expect(() => fake.assertNotBroadcast(EmailDeleted)).toThrow(
      'Expected email.deleted not to be broadcast, but it was broadcast 1 time(s)',
    );
    expect(() => fake.assertBroadcastTimes(EmailDeleted, 2)).toThrow(
      'Expected email.deleted to be broadcast 2 time(s), but it was broadcast 1 time(s)',
    );
    expect(() => fake.assertBroadcastOn('private-user.other', EmailDeleted)).toThrow(/to be broadcast on private-user.other/);
    expect(() => fake.assertBroadcast(EmailDeleted, (data) => data.id === 'nope')).toThrow(/matching the predicate/);
  });
});
