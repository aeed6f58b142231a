import Echo from 'laravel-echo';
import type Pusher from 'pusher-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { onDistinctShards, pusherClient, serverSdk } from '../support/node/realtime-clients.ts';
import { type RunningWorker, startWorker } from '../support/node/worker.ts';

// Laravel Echo (broadcaster 'pusher') over the official pusher-js, against the realtime server.
let worker: RunningWorker;
const echoes: Array<Echo<'pusher'>> = [];

beforeAll(async () => {
  worker = await startWorker({ vars: { LOG_LEVEL: 'warn' } });
});
afterAll(() => worker?.stop());
afterEach(() => {
  for (const echo of echoes.splice(0)) echo.disconnect();
});

const member = (id: string, name: string) => () => pusherClient(worker, { identity: { id, info: { name, role: 'user' } } });

function echoOn(client: Pusher): Echo<'pusher'> {
  const echo = new Echo({ broadcaster: 'pusher', key: 'unused-with-client', client });
  echoes.push(echo);
  return echo;
}

function echoFor(id: string, name: string): Echo<'pusher'> {
  return echoOn(member(id, name)());
}

/** Echo instances whose sockets sit on different connection shards (when the run has several). */
async function echoesOnDistinctShards<Members extends Array<[id: string, name: string]>>(
  ...members: Members
): Promise<{ [K in keyof Members]: Echo<'pusher'> }> {
  const clients: Pusher[] = await onDistinctShards(members.map(([id, name]) => member(id, name)));
  return clients.map(echoOn) as { [K in keyof Members]: Echo<'pusher'> };
}

const unique = (prefix: string) => `${prefix}${Math.random().toString(36).slice(2, 10)}`;

// Negative checks ("X never arrived") are proven by ordering, not by waiting: a channel's events go
// through one object (its shard, or its channel object with several shards) one at a time, and frames
// on one WebSocket arrive in the order they were sent, so a marker sent after the action arrives
// behind anything the action sent. Clients of one test sit on different shards when there are several.

describe('Laravel Echo', () => {
  it('listens to a broadcast on a private channel with .listen(".name")', async () => {
    const id = unique('user-');
    const echo = echoFor(id, 'Ada');
    const received = new Promise((resolve) => {
      echo.private(`user.${id}`).listen('.email.received', resolve);
    });
    const subscribed = new Promise((resolve) => echo.private(`user.${id}`).subscribed(resolve));
    await subscribed;
    await serverSdk(worker).trigger(`private-user.${id}`, 'email.received', { id: 'e1', subject: 'Hi' });
    expect(await received).toEqual({ id: 'e1', subject: 'Hi' });
  });

  it('reports here, joining and leaving on a presence channel, once per user', async () => {
    const room = unique('inbox-');
    const [ada, grace1, grace2] = await echoesOnDistinctShards(['ada', 'Ada'], ['grace', 'Grace'], ['grace', 'Grace']);
    const joining: unknown[] = [];
    const leaving: unknown[] = [];
    const here = new Promise<unknown[]>((resolve) => {
      ada
        .join(room)
        .here(resolve)
        .joining((m: unknown) => joining.push(m))
        .leaving((m: unknown) => leaving.push(m));
    });
    // Echo hands over each member's user_info.
    expect(await here).toEqual([{ name: 'Ada', role: 'user' }]);

    const graceHere = new Promise<unknown[]>((resolve) => grace1.join(room).here(resolve));
    expect((await graceHere).map((m) => (m as { name: string }).name).sort()).toEqual(['Ada', 'Grace']);
    await new Promise<void>((resolve) => grace2.join(room).here(() => resolve()));
    await expect.poll(() => joining).toEqual([{ name: 'Grace', role: 'user' }]);

    grace1.disconnect();
    // The server has handled grace1's close (and sent any member event) once it counts two sockets.
    const sdk = serverSdk(worker);
    const sockets = async () =>
      (
        (await (await sdk.get({ path: `/channels/presence-${room}`, params: { info: 'subscription_count' } })).json()) as {
          subscription_count: number;
        }
      ).subscription_count;
    await expect.poll(sockets, { timeout: 5000 }).toBe(2);
    const marker = new Promise((resolve) => ada.join(room).listen('.marker', resolve));
    await sdk.trigger(`presence-${room}`, 'marker', {});
    await marker;
    expect(leaving).toEqual([]);
    grace2.disconnect();
    await expect.poll(() => leaving, { timeout: 5000 }).toEqual([{ name: 'Grace', role: 'user' }]);
    expect(joining).toHaveLength(1);
  });

  it('whispers to other members with whisper/listenForWhisper', async () => {
    const room = unique('chat-');
    const [ada, bob] = await echoesOnDistinctShards(['ada', 'Ada'], ['bob', 'Bob']);
    await new Promise<void>((resolve) => ada.private(room).subscribed(() => resolve()));
    const heard = new Promise((resolve) => bob.private(room).listenForWhisper('typing', resolve));
    await new Promise<void>((resolve) => bob.private(room).subscribed(() => resolve()));
    let adaHeardHerself = false;
    ada.private(room).listenForWhisper('typing', () => (adaHeardHerself = true));
    ada.private(room).whisper('typing', { name: 'Ada' });
    expect(await heard).toEqual({ name: 'Ada' });
    // Bob answers only after the server fanned Ada's whisper out, so an echo to Ada would precede it.
    const answer = new Promise((resolve) => ada.private(room).listenForWhisper('seen', resolve));
    bob.private(room).whisper('seen', {});
    await answer;
    expect(adaHeardHerself).toBe(false);
  });
});
