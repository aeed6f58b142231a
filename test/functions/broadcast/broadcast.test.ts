import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { broadcast, broadcasterFor, fakeBroadcasting, restoreBroadcasting, socketIdOf } from '../../../functions/broadcast/broadcast.ts';
import { LogBroadcaster } from '../../../functions/broadcast/drivers/log.ts';
import { NullBroadcaster } from '../../../functions/broadcast/drivers/null.ts';
import { RealtimeBroadcaster } from '../../../functions/broadcast/drivers/realtime.ts';
import { EmailDeleted, EmailReceived, EmailUpdated } from '../../../functions/broadcast/events.ts';
import { emailModelEvents } from '../../../functions/broadcast/model-events.ts';
import { loadConfig } from '../../../functions/config.ts';
import { seedUsers } from '../../support/seed-users.ts';
import { envWith } from '../../support/workerd/env.ts';
import { emailRow } from '../../support/workerd/webhooks.ts';

const recipient = seedUsers.ada.id;

afterEach(() => restoreBroadcasting());

describe('choosing a broadcaster with BROADCAST_DRIVER', () => {
  it('selects the realtime broadcaster for realtime', () => {
    const testEnv = envWith({ BROADCAST_DRIVER: 'realtime' });
    expect(broadcasterFor(loadConfig(testEnv), testEnv)).toBeInstanceOf(RealtimeBroadcaster);
  });

  it('selects the log and null broadcasters for log and null', () => {
    for (const [driver, type] of [
      ['log', LogBroadcaster],
      ['null', NullBroadcaster],
    ] as const) {
      const testEnv = envWith({ BROADCAST_DRIVER: driver });
      expect(broadcasterFor(loadConfig(testEnv), testEnv)).toBeInstanceOf(type);
    }
  });
});

describe('the broadcast fake', () => {
  it('records what broadcast() publishes and asserts on it', async () => {
    const fake = fakeBroadcasting();
    fake.assertNothingBroadcast();
    const email = emailRow();
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
    const email = emailRow();
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
    await broadcast(envWith({ BROADCAST_DRIVER: 'null' }), emailModelEvents.deleted(emailRow()));
    fake.assertNothingBroadcast();
  });
});
