import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultApp, RawSocket, serverSdk } from '../support/node/realtime-clients.ts';
import { type RunningWorker, startWorker } from '../support/node/worker.ts';

// Raw `ws` frames against the realtime server under wrangler dev: exact payloads and close codes,
// and after every error the server still serves a bystander socket.
const app = defaultApp();
const quiet = { id: 'quiet', key: 'quiet-key', secret: 'quiet-secret-for-tests', activityTimeout: 1 };
const small = { id: 'small', key: 'small-key', secret: 'small-secret-for-tests', maxPresenceMembers: 2, maxConnections: 3 };
const off = { id: 'off', key: 'off-key', secret: 'off-secret-for-tests', enabled: false };

let worker: RunningWorker;
let bystander: RawSocket;
const sockets: RawSocket[] = [];

beforeAll(async () => {
  worker = await startWorker({ vars: { LOG_LEVEL: 'warn', REALTIME_APPS: JSON.stringify([quiet, small, off]) } });
  bystander = await RawSocket.open(worker);
  bystander.send({ event: 'pusher:subscribe', data: { channel: 'bystanders' } });
  await bystander.next('pusher_internal:subscription_succeeded', 'bystanders');
});
afterAll(async () => {
  bystander?.close();
  await worker?.stop();
});
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  // The server keeps serving other sockets after each error.
  await serverSdk(worker).trigger('bystanders', 'still-here', { ok: true });
  expect((await bystander.next('still-here', 'bystanders')).data).toEqual({ ok: true });
});

async function open(key = app.key, query?: string): Promise<RawSocket> {
  const socket = await RawSocket.open(worker, key, query);
  sockets.push(socket);
  return socket;
}

function sign(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('hex');
}

async function subscribePrivate(socket: RawSocket, channel: string, secret = app.secret, key = app.key): Promise<void> {
  const socketId = await socket.socketId();
  socket.send({ event: 'pusher:subscribe', data: { channel, auth: `${key}:${sign(secret, `${socketId}:${channel}`)}` } });
  await socket.next('pusher_internal:subscription_succeeded', channel);
}

describe('handshake and pings', () => {
  it('sends connection_established with data as a JSON string', async () => {
    const socket = await open();
    await socket.socketId();
    expect(socket.raw[0]).toMatch(
      /^\{"event":"pusher:connection_established","data":"\{\\"socket_id\\":\\"\d+\.\d+\\",\\"activity_timeout\\":30\}"\}$/,
    );
  });

  it('answers pusher:ping with exactly {"event":"pusher:pong","data":"{}"}, and WebSocket pings with pongs', async () => {
    const socket = await open();
    await socket.socketId();
    socket.send('{"event":"pusher:ping","data":{}}');
    await socket.next('pusher:pong');
    expect(socket.raw.at(-1)).toBe('{"event":"pusher:pong","data":"{}"}');
    const pong = new Promise<void>((resolve) => socket.ws.once('pong', () => resolve()));
    socket.ws.ping();
    await pong;
  });

  it('pings a silent client after the activity timeout and closes it with 4201 when no pong comes', { timeout: 15_000 }, async () => {
    const socket = await open(quiet.key);
    expect((await socket.next('pusher:connection_established')).data).toMatchObject({ activity_timeout: 1 });
    expect(await socket.next('pusher:ping', undefined, 6000)).toEqual({ event: 'pusher:ping', data: {} });
    expect((await socket.next('pusher:error', undefined, 6000)).data).toEqual({ message: 'Pong not received in time', code: 4201 });
    // The close frame follows; under wrangler dev's proxy the TCP connection of a close started by an
    // alarm lingers, so check the handshake state rather than wait for the 'close' event.
    await expect.poll(() => socket.ws.readyState, { timeout: 3000 }).toBeGreaterThanOrEqual(2);
    // One error frame before the close, not two.
    expect(socket.frames.filter((frame) => frame.event === 'pusher:error')).toEqual([]);
  });
});

describe('refused connections', () => {
  it.each([
    ['an unknown key', 'no-such-key', undefined, 4001],
    ['a disabled app', off.key, undefined, 4003],
    ['no protocol', app.key, 'client=js', 4008],
    ['protocol 6', app.key, 'protocol=6', 4007],
  ])('closes %s with %i after a pusher:error', async (_what, key, query, code) => {
    const socket = await open(key, query);
    expect((await socket.next('pusher:error')).data).toMatchObject({ code });
    expect((await socket.waitClosed()).code).toBe(code);
  });

  it('closes an unknown path under /app with 4005', async () => {
    const socket = await RawSocket.open(worker, `${app.key}/extra`);
    sockets.push(socket);
    expect((await socket.waitClosed()).code).toBe(4005);
  });

  it('refuses connections over the app quota with 4004', async () => {
    const held = await Promise.all([open(small.key), open(small.key), open(small.key)]);
    await Promise.all(held.map((socket) => socket.socketId()));
    const extra = await open(small.key);
    expect((await extra.waitClosed()).code).toBe(4004);
  });
});

describe('bad frames keep the connection open with a pusher:error', () => {
  it.each([
    ['bad JSON', '{not json', "Invalid JSON: '{not json'"],
    ['a frame without an event', '{"data":{}}', 'Invalid message: expected a JSON object with an "event" string'],
    ['an unknown event', '{"event":"pusher:nope","data":{}}', "Unsupported event: 'pusher:nope'"],
    [
      'a bad channel name',
      '{"event":"pusher:subscribe","data":{"channel":"bad channel!"}}',
      "Invalid channel name: 'bad channel!' (at most 164 of [A-Za-z0-9_\\-=@,.;])",
    ],
    [
      'an oversized frame',
      JSON.stringify({ event: 'client-x', channel: 'private-a', data: 'x'.repeat(30_000) }),
      'Message too large: at least 30052 bytes (at most 20480)',
    ],
  ])('%s', async (_what, frame, message) => {
    const socket = await open();
    await socket.socketId();
    socket.send(frame);
    expect(await socket.next('pusher:error')).toEqual({ event: 'pusher:error', data: { message, code: null } });
    socket.send('{"event":"pusher:ping","data":{}}');
    await socket.next('pusher:pong');
    expect(socket.closed).toBeNull();
  });

  it('binary frames', async () => {
    const socket = await open();
    await socket.socketId();
    socket.ws.send(Buffer.from([1, 2, 3]));
    expect((await socket.next('pusher:error')).data).toMatchObject({ message: 'Binary frames are not supported: send UTF-8 JSON text' });
  });
});

describe('channel rules', () => {
  it('refuses a private channel with a bad signature with subscription_error 401', async () => {
    const socket = await open();
    await socket.socketId();
    socket.send({ event: 'pusher:subscribe', data: { channel: 'private-x', auth: `${app.key}:deadbeef` } });
    const error = await socket.next('pusher:subscription_error', 'private-x');
    expect(error.data).toMatchObject({ type: 'AuthError', status: 401 });
  });

  it('refuses a presence member over the limit and user_info over 1 KB', async () => {
    const join = async (userId: string, info: unknown = {}) => {
      const socket = await open(small.key);
      const socketId = await socket.socketId();
      const channelData = JSON.stringify({ user_id: userId, user_info: info });
      socket.send({
        event: 'pusher:subscribe',
        data: {
          channel: 'presence-full',
          channel_data: channelData,
          auth: `${small.key}:${sign(small.secret, `${socketId}:presence-full:${channelData}`)}`,
        },
      });
      return socket;
    };
    const a = await join('a');
    await a.next('pusher_internal:subscription_succeeded');
    const b = await join('b');
    await b.next('pusher_internal:subscription_succeeded');
    const c = await join('c');
    expect((await c.next('pusher:subscription_error')).data).toMatchObject({
      status: 403,
      error: "Presence channel 'presence-full' is full (at most 2 members)",
    });
    a.close();
    b.close();
    await a.waitClosed();
    await b.waitClosed();
    // Wait until the server has handled both closes (the app allows 3 connections; c is still open).
    const smallSdk = serverSdk(worker, small);
    await expect
      .poll(async () => (await (await smallSdk.get({ path: '/channels/presence-full' })).json()) as unknown, { timeout: 5000 })
      .toEqual({ occupied: false });
    const big = await join('d', { blob: 'x'.repeat(1100) });
    expect((await big.next('pusher:subscription_error')).data).toMatchObject({
      status: 400,
      error: expect.stringMatching(/^user_info too large/),
    });
  });

  it('refuses client events on public channels and channels not joined, rejects over 10 per second with 4301 and closes a flood', async () => {
    const socket = await open();
    await socket.socketId();
    socket.send({ event: 'client-x', channel: 'public-chat', data: {} });
    expect((await socket.next('pusher:error')).data).toMatchObject({
      message: "Client events are allowed only on private and presence channels, not 'public-chat'",
    });
    socket.send({ event: 'client-x', channel: 'private-elsewhere', data: {} });
    expect((await socket.next('pusher:error')).data).toMatchObject({
      message: "Not subscribed to 'private-elsewhere': subscribe before sending client events on it",
    });

    await subscribePrivate(socket, 'private-chatty');
    const listener = await open();
    await subscribePrivate(listener, 'private-chatty');
    // 25 events: even if a second boundary splits them, at least 5 are over the limit.
    for (let i = 0; i < 25; i++) socket.send({ event: 'client-x', channel: 'private-chatty', data: { i } });
    expect(await socket.next('pusher:error')).toEqual({
      event: 'pusher:error',
      data: { message: 'Client event rejected: more than 10 per second', code: 4301 },
    });
    // Rejected events are not delivered; the connection stays open. The server handles a socket's frames
    // in order, so once it has answered a subscribe sent after the 25 it has handled all of them; a marker
    // published after that reaches the listener behind every client-x it was sent.
    socket.send({ event: 'pusher:subscribe', data: { channel: 'after-the-burst' } });
    await socket.next('pusher_internal:subscription_succeeded', 'after-the-burst');
    await serverSdk(worker).trigger('private-chatty', 'marker', {});
    await listener.next('marker', 'private-chatty');
    const delivered = listener.frames.filter((f) => f.event === 'client-x').length;
    expect(delivered).toBeGreaterThanOrEqual(10);
    expect(delivered).toBeLessThanOrEqual(20);
    expect(socket.closed).toBeNull();
    // A flood (over 50 in a second; 120 cannot be split into two seconds under that) is closed.
    for (let i = 0; i < 120; i++) socket.send({ event: 'client-x', channel: 'private-chatty', data: { i } });
    expect((await socket.waitClosed()).code).toBe(4301);
  });

  it('closes a signin with a bad signature with 4009', async () => {
    const socket = await open();
    await socket.socketId();
    socket.send({ event: 'pusher:signin', data: { user_data: '{"id":"u1"}', auth: `${app.key}:deadbeef` } });
    expect((await socket.next('pusher:error')).data).toEqual({
      message: 'Invalid signin: sign socket_id::user::user_data with the app secret',
      code: 4009,
    });
    expect((await socket.waitClosed()).code).toBe(4009);
  });

  it('signs in but reports pusher:error 4302 for a watchlist over 100 users', async () => {
    const socket = await open();
    const socketId = await socket.socketId();
    const userData = JSON.stringify({ id: 'watcher', watchlist: Array.from({ length: 101 }, (_, i) => `u${i}`) });
    socket.send({
      event: 'pusher:signin',
      data: { user_data: userData, auth: `${app.key}:${sign(app.secret, `${socketId}::user::${userData}`)}` },
    });
    expect((await socket.next('pusher:error')).data).toEqual({ message: 'Watchlist over limit: 101 user ids (at most 100)', code: 4302 });
    await socket.next('pusher:signin_success');
  });

  it('closes a signed-in socket with 4009 when the user is terminated', async () => {
    const socket = await open();
    const socketId = await socket.socketId();
    const userData = '{"id":"doomed"}';
    socket.send({
      event: 'pusher:signin',
      data: { user_data: userData, auth: `${app.key}:${sign(app.secret, `${socketId}::user::${userData}`)}` },
    });
    expect((await socket.next('pusher:signin_success')).data).toEqual({ user_data: userData });
    socket.send({ event: 'pusher:subscribe', data: { channel: '#server-to-user-someone-else' } });
    expect((await socket.next('pusher:subscription_error')).data).toMatchObject({ status: 403 });
    await serverSdk(worker).terminateUserConnections('doomed');
    expect((await socket.next('pusher:error')).data).toEqual({ message: 'Connection terminated by the server', code: 4009 });
    expect((await socket.waitClosed()).code).toBe(4009);
  });
});
