import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { broadcast, broadcasterFor, fakeBroadcasting, restoreBroadcasting, socketIdOf } from '../../../functions/broadcast/broadcast.ts';
import { LogBroadcaster } from '../../../functions/broadcast/drivers/log.ts';
import { NullBroadcaster } from '../../../functions/broadcast/drivers/null.ts';
import { RealtimeBroadcaster } from '../../../functions/broadcast/drivers/realtime.ts';
import { EmailDeleted, EmailReceived, EmailUpdated } from '../../../functions/broadcast/events.ts';
import { emailModelEvents, type EmailRow } from '../../../functions/broadcast/model-events.ts';
import { loadConfig } from '../../../functions/config.ts';
import { envWith } from '../../support/workerd/env.ts';

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

afterEach(() => restoreBroadcasting());

describe('choosing a broadcaster with BROADCAST_DRIVER', () => {
  it('selects the realtime broadcaster for realtime', () => {
    const testEnv = envWith({ BROADCAST_DRIVER: 'realtime' });
    expect(broadcasterFor(loadConfig(testEnv), testEnv)).toBeInstanceOf(RealtimeBroadcaster);
  });

  it('selects the log and null broadcasters for log and null', () => {
    for (const [driver, type] of [['log', LogBroadcaster], ['null', NullBroadcaster]] as const) {
      const testEnv = envWith({ BROADCAST_DRIVER: driver });
      expect(broadcasterFor(loadConfig(testEnv), testEnv)).toBeInstanceOf(type);
    }
  });
});

describe('the broadcast fake', () => {
  it('records what broadcast() publishes and asserts on it', async () => {
    const fake = fakeBroadcasting();
    fake.assertNothingBroadcast();
    const email = row();
    await broadcast(env, emailModelEvents.created(email, 'Grace'));
    fake.assertBroadcast(EmailReceived);
    fake.assertBroadcast(EmailReceived, (data) => data.id === email.id && data.sender_name === 'Grace');
    fake.assertBroadcastOn(`private-user.${recipient}`, EmailReceived);
    fake.assertBroadcastTimes(EmailReceived, 1);
    fake.assertNotBroadcast(EmailDeleted);
    fake.assertNotBroadcast(EmailReceived, (data) => data.id === 'someone else');
  });

  it('honours toOthers with the request’s X-Socket-ID header, and ignores a malformed one', async () => {
    const fake = fakeBroadcasting();
    const email = row();
    const request = new Request('http://tidings.test/', { headers: { 'X-Socket-ID': '1234.5678' } });
    await broadcast(env, emailModelEvents.updated(email), { toOthers: request });
    fake.assertBroadcastToOthers(EmailUpdated, '1234.5678');
    await broadcast(env, emailModelEvents.deleted(email), { toOthers: new Request('http://x/', { headers: { 'X-Socket-ID': 'evil' } }) });
    expect(fake.broadcasted(EmailDeleted)[0]!.socketId).toBeUndefined();
    expect(socketIdOf(new Request('http://x/'))).toBeUndefined();
  });

  it('stops intercepting after restoreBroadcasting', async () => {
    const fake = fakeBroadcasting();
    restoreBroadcasting();
    await broadcast(envWith({ BROADCAST_DRIVER: 'null' }), emailModelEvents.deleted(row()));
    fake.assertNothingBroadcast();
  });
});
