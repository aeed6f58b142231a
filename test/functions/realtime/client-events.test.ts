import { afterEach, describe, expect, it } from 'vitest';
import { takeClientEvent } from '../../../functions/realtime/client-events.ts';
import { newConnectionState } from '../../../functions/realtime/connection.ts';
import { freshAddress, subscribe } from '../../support/workerd/realtime.ts';
import { RawClient } from '../../support/workerd/realtime-client.ts';

describe('client event rate limit', () => {
  it('allows 10 client events per second, rejects more, and closes a flood of over 50', () => {
    const state = newConnectionState('1.1', 0);
    const verdicts = Array.from({ length: 51 }, () => takeClientEvent(state, 5_000));
    expect(verdicts.slice(0, 10).every((v) => v === 'allow')).toBe(true);
    expect(verdicts.slice(10, 50).every((v) => v === 'reject')).toBe(true);
    expect(verdicts[50]).toBe('close');
    expect(takeClientEvent(state, 6_000)).toBe('allow');
  });
});

describe('client events under attack', () => {
  const strict = { key: 'strict-key', secret: 'strict-secret-for-tests' };
  const open: RawClient[] = [];
  const connect = async () => {
    const client = await RawClient.connect(strict.key, undefined, freshAddress());
    open.push(client);
    return client;
  };
  afterEach(() => {
    for (const client of open.splice(0)) client.close();
  });

  it('answers data nested 5,000 deep with an error frame, relays nothing, and keeps serving', async () => {
    const name = `private-deep-${crypto.randomUUID()}`;
    const [sender, receiver] = [await connect(), await connect()];
    await subscribe(sender, name, { app: strict });
    await subscribe(receiver, name, { app: strict });
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    sender.send(`{"event":"client-deep","channel":"${name}","data":${deep}}`);
    expect((await sender.next('pusher:error')).data).toEqual({
      message: 'Message nested too deep: at most 32 levels of arrays and objects',
      code: null,
    });
    sender.send({ event: 'client-after', channel: name, data: { ok: true } });
    expect(await receiver.noneBefore('client-deep', 'client-after', name)).toBe(true);
    expect((await receiver.next('client-after', name)).data).toEqual({ ok: true });
  });

  it('refuses client events on encrypted channels, as Pusher does', async () => {
    const name = `private-encrypted-secret-${crypto.randomUUID()}`;
    const sender = await connect();
    await subscribe(sender, name, { app: strict });
    sender.send({ event: 'client-x', channel: name, data: 'ciphertext' });
    expect((await sender.next('pusher:error')).data).toEqual({
      message: `Client events are not allowed on encrypted channels ('${name}')`,
      code: null,
    });
  });

  it('limits a presence user to 10 per second across their sockets', async () => {
    const name = `presence-chatty-${crypto.randomUUID()}`;
    const member = JSON.stringify({ user_id: 'chatty' });
    const tabs = [await connect(), await connect(), await connect()];
    const listener = await connect();
    for (const tab of tabs) await subscribe(tab, name, { app: strict, channelData: member });
    await subscribe(listener, name, { app: strict, channelData: JSON.stringify({ user_id: 'listener' }) });
    // 7 from each of one user's three tabs: each tab is under its own limit of 10, the user is not,
    // even if a second boundary splits the 21 (one second gets 11 or more).
    for (let i = 0; i < 7; i++) for (const tab of tabs) tab.send({ event: 'client-msg', channel: name, data: { i } });
    const refused = await Promise.race(tabs.map((tab) => tab.next('pusher:error')));
    expect(refused.data).toEqual({ message: `Client event rejected: this user sent more than 10 per second on '${name}'`, code: 4301 });
  });
});
