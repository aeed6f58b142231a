import { randomUUID } from 'node:crypto';
import type { BrowserContext, Route, WebSocketRoute } from 'playwright-core';

// A scripted stand-in for the Worker's API, Supabase Auth and the realtime server, installed into
// a browser context with Playwright's request and WebSocket routing. It speaks exactly the shared
// contract (COMMON.md): /api/config, /api/me, /api/emails, /api/users, /broadcasting/auth, Supabase's
// password grant, and the Pusher protocol v7 frames pusher-js needs. The page itself is still served
// by the real Worker. It lets the client's behaviour (rendering, de-duplication, catch-up, presence,
// validation) be tested on its own; test/browser/live-inbox.* test the same against the real stack.

/** A user of the scripted backend. */
export interface ScriptedUser {
  id: string;
  email: string;
  password: string;
  display_name: string;
  role: 'admin' | 'user';
}

/** An email as the API returns it. */
export interface ScriptedEmail {
  id: string;
  sender_id: string;
  sender_name: string;
  recipient_id: string;
  subject: string;
  body: string;
  created_at: string;
  read_at: string | null;
}

interface Socket {
  ws: WebSocketRoute;
  socketId: string;
  userId: string | null;
  channels: Set<string>;
}

/** The path the scripted Supabase lives under, on the page's own origin (so no CORS is involved). */
const SUPABASE_PATH = '/__scripted-supabase';
const PUSHER_KEY = 'tidings-local-key';

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A JWT-shaped token naming the user (the scripted backend trusts it; nothing real is signed). */
function tokenFor(user: ScriptedUser): string {
  const now = Math.floor(Date.now() / 1000);
  return `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url({ sub: user.id, email: user.email, role: 'authenticated', aud: 'authenticated', iat: now, exp: now + 3600 })}.c2NyaXB0ZWQ`;
}

function userIdOf(token: string | undefined): string | null {
  const payload = token?.replace(/^Bearer /, '').split('.')[1];
  if (!payload) return null;
  try {
    return (JSON.parse(Buffer.from(payload, 'base64url').toString()) as { sub?: string }).sub ?? null;
  } catch {
    return null;
  }
}

async function json(route: Route, status: number, body: unknown): Promise<void> {
  await route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });
}

/** The scripted backend: seed users, install into contexts, then drive it from the test. */
export class ScriptedBackend {
  readonly users: ScriptedUser[];
  readonly emails: ScriptedEmail[] = [];
  /** When true, /broadcasting/auth refuses every channel (as with a misconfigured secret). */
  refuseChannels = false;
  /** When false, WebSocket connections are refused and open ones were dropped (the network is "down"). */
  private realtimeUp = true;
  private readonly sockets = new Set<Socket>();
  private nextSocket = 1;
  private clock = Date.parse('2026-11-28T09:00:00.000Z');

  constructor(users: Array<Omit<ScriptedUser, 'id' | 'password'> & { password?: string }>) {
    this.users = users.map((user) => ({ id: randomUUID(), password: 'password', ...user }));
  }

  user(email: string): ScriptedUser {
    const user = this.users.find((candidate) => candidate.email === email);
    if (!user) throw new Error(`no scripted user ${email}`);
    return user;
  }

  /** Routes the API, Supabase Auth and the realtime WebSocket of every page in the context. */
  async install(context: BrowserContext, workerUrl: string): Promise<void> {
    const origin = new URL(workerUrl).origin;
    await context.route(`${origin}/api/**`, (route) => this.api(route, origin));
    await context.route(`${origin}/broadcasting/**`, (route) => this.broadcastingAuth(route));
    await context.route(`${origin}${SUPABASE_PATH}/**`, (route) => this.supabase(route));
    await context.routeWebSocket(/\/app\/[^/?]+/, (ws) => this.connect(ws));
  }

  /** Inserts an email the way any source would (API, SQL, import) and broadcasts `email.received`. */
  insert(sender: ScriptedUser, recipient: ScriptedUser, subject: string, body: string, options: { broadcast?: boolean } = {}): ScriptedEmail {
    this.clock += 1000;
    const email: ScriptedEmail = {
      id: randomUUID(),
      sender_id: sender.id,
      sender_name: sender.display_name,
      recipient_id: recipient.id,
      subject,
      body,
      created_at: new Date(this.clock).toISOString(),
      read_at: null,
    };
    this.emails.push(email);
    if (options.broadcast !== false) this.broadcastReceived(email);
    return email;
  }

  /** Broadcasts `email.received` for an email (again, for a redelivery). */
  broadcastReceived(email: ScriptedEmail): void {
    const { id, sender_id, sender_name, subject, created_at } = email;
    this.publish(`private-user.${email.recipient_id}`, 'email.received', { id, sender_id, sender_name, subject, preview: email.body.slice(0, 140), created_at });
  }

  /** Publishes any event, well-formed or not, on a channel (what a misbehaving server might send). */
  publishRaw(channel: string, event: string, data: unknown): void {
    this.publish(channel, event, data);
  }

  /** Drops every WebSocket and refuses new ones until `realtimeBack()`. */
  realtimeDown(): void {
    this.realtimeUp = false;
    for (const socket of [...this.sockets]) this.disconnect(socket, 4100, 'Over capacity (scripted outage)');
  }

  realtimeBack(): void {
    this.realtimeUp = true;
  }

  /** Socket ids currently subscribed to a channel. */
  subscribers(channel: string): number {
    return [...this.sockets].filter((socket) => socket.channels.has(channel)).length;
  }

  private async api(route: Route, origin: string): Promise<void> {
    const request = route.request();
    const url = new URL(request.url());
    const path = url.pathname;
    if (path === '/api/config') {
      return json(route, 200, {
        pusher: { key: PUSHER_KEY, wsHost: url.hostname, wsPort: Number(url.port), forceTLS: false, cluster: 'mt1' },
        supabase: { url: `${origin}${SUPABASE_PATH}`, anonKey: 'scripted-anon-key' },
        devUsers: this.users.map(({ email, password, role }) => ({ email, password, role })),
      });
    }
    const me = this.users.find((user) => user.id === userIdOf(request.headers().authorization));
    if (!me) return json(route, 401, { error: 'Sign in first: the Authorization header is missing or invalid.' });
    const profile = (user: ScriptedUser) => ({ id: user.id, email: user.email, display_name: user.display_name, role: user.role });
    if (path === '/api/me') return json(route, 200, { user: profile(me) });
    if (path === '/api/users') {
      if (me.role !== 'admin') return json(route, 403, { error: 'Only an admin can list users.' });
      return json(route, 200, { users: this.users.map(profile) });
    }
    if (path === '/api/emails' && request.method() === 'GET') {
      const after = url.searchParams.get('after');
      const before = url.searchParams.get('before');
      const limit = Number(url.searchParams.get('limit') ?? 50);
      const emails = this.emails
        .filter((email) => email.recipient_id === me.id)
        .filter((email) => (!after || email.created_at > after) && (!before || email.created_at < before))
        .sort((a, b) => b.created_at.localeCompare(a.created_at))
        .slice(0, limit);
      return json(route, 200, { emails });
    }
    if (path === '/api/emails' && request.method() === 'POST') {
      if (me.role !== 'admin') return json(route, 403, { error: 'Only an admin can send emails.' });
      const body = request.postDataJSON() as { recipient_ids: string[]; subject: string; body: string };
      const issues: Array<{ path: string; message: string }> = [];
      if (body.subject.length > 200) issues.push({ path: 'subject', message: 'Too big: expected string to have <=200 characters' });
      if (body.recipient_ids.some((id) => !this.users.some((user) => user.id === id))) issues.push({ path: 'recipient_ids', message: 'Unknown recipient.' });
      if (body.subject.includes('server-reject')) issues.push({ path: 'subject', message: 'The server refused this subject.' });
      if (issues.length > 0) return json(route, 400, { error: `Invalid request body: ${issues[0]!.path}: ${issues[0]!.message}`, issues });
      const created = body.recipient_ids.map((id) => this.insert(me, this.users.find((user) => user.id === id)!, body.subject, body.body));
      return json(route, 201, { emails: created });
    }
    const read = /^\/api\/emails\/([^/]+)\/read$/.exec(path);
    if (read && request.method() === 'PATCH') {
      const email = this.emails.find((candidate) => candidate.id === read[1] && candidate.recipient_id === me.id);
      if (!email) return json(route, 404, { error: 'No such email.' });
      if (!email.read_at) {
        email.read_at = new Date().toISOString();
        this.publish(`private-user.${me.id}`, 'email.updated', { id: email.id, read_at: email.read_at });
      }
      return json(route, 200, { email });
    }
    return json(route, 404, { error: `Not found: ${request.method()} ${path}` });
  }

  /** pusher-js posts `socket_id` and `channel_name` form-encoded; the signature is not checked here. */
  private async broadcastingAuth(route: Route): Promise<void> {
    const request = route.request();
    const me = this.users.find((user) => user.id === userIdOf(request.headers().authorization));
    if (!me || this.refuseChannels) return json(route, 403, { error: 'You may not join this channel.' });
    const form = new URLSearchParams(request.postData() ?? '');
    const channel = form.get('channel_name') ?? '';
    if (channel === 'presence-inbox') {
      const channelData = JSON.stringify({ user_id: me.id, user_info: { name: me.display_name, role: me.role } });
      return json(route, 200, { auth: `${PUSHER_KEY}:scripted`, channel_data: channelData });
    }
    if (channel !== `private-user.${me.id}`) return json(route, 403, { error: `You may not join ${channel}.` });
    return json(route, 200, { auth: `${PUSHER_KEY}:scripted` });
  }

  private async supabase(route: Route): Promise<void> {
    const request = route.request();
    const url = new URL(request.url());
    if (url.pathname.endsWith('/auth/v1/token') && url.searchParams.get('grant_type') === 'password') {
      const { email, password } = request.postDataJSON() as { email: string; password: string };
      const user = this.users.find((candidate) => candidate.email === email && candidate.password === password);
      if (!user) return json(route, 400, { error: 'invalid_grant', error_description: 'Invalid login credentials', code: 'invalid_credentials', msg: 'Invalid login credentials' });
      const now = Math.floor(Date.now() / 1000);
      return json(route, 200, {
        access_token: tokenFor(user),
        token_type: 'bearer',
        expires_in: 3600,
        expires_at: now + 3600,
        refresh_token: randomUUID(),
        user: { id: user.id, aud: 'authenticated', role: 'authenticated', email: user.email, app_metadata: {}, user_metadata: {}, created_at: new Date().toISOString() },
      });
    }
    if (url.pathname.endsWith('/auth/v1/logout')) return route.fulfill({ status: 204 });
    return json(route, 400, { error: `not supported by the scripted backend: ${url.pathname}` });
  }

  private connect(ws: WebSocketRoute): void {
    if (!this.realtimeUp) {
      ws.close({ code: 4100, reason: 'Over capacity (scripted outage)' });
      return;
    }
    const socket: Socket = { ws, socketId: `${this.nextSocket++}.${Math.floor(Math.random() * 1e6)}`, userId: null, channels: new Set() };
    this.sockets.add(socket);
    ws.onClose(() => this.forget(socket));
    ws.onMessage((message) => this.frame(socket, String(message)));
    this.send(socket, 'pusher:connection_established', { socket_id: socket.socketId, activity_timeout: 120 });
  }

  private frame(socket: Socket, message: string): void {
    const { event, data } = JSON.parse(message) as { event: string; data: { channel: string; auth?: string; channel_data?: string } };
    if (event === 'pusher:ping') return this.send(socket, 'pusher:pong', {});
    if (event === 'pusher:unsubscribe') return void socket.channels.delete(data.channel);
    if (event !== 'pusher:subscribe') return;
    const channel = data.channel;
    if (!channel.startsWith('presence-')) {
      socket.channels.add(channel);
      return this.send(socket, 'pusher_internal:subscription_succeeded', {}, channel);
    }
    const member = JSON.parse(data.channel_data ?? '{}') as { user_id: string; user_info: unknown };
    const firstOfUser = !this.members(channel).has(member.user_id);
    socket.userId = member.user_id;
    socket.channels.add(channel);
    const members = this.members(channel);
    this.send(socket, 'pusher_internal:subscription_succeeded', { presence: { ids: [...members.keys()], hash: Object.fromEntries(members), count: members.size } }, channel);
    if (firstOfUser) this.publish(channel, 'pusher_internal:member_added', member, socket);
  }

  /** user id → info for a presence channel: one entry per user, however many sockets. */
  private members(channel: string): Map<string, unknown> {
    const members = new Map<string, unknown>();
    for (const socket of this.sockets) {
      if (socket.userId && socket.channels.has(channel)) {
        const user = this.users.find((candidate) => candidate.id === socket.userId);
        members.set(socket.userId, { name: user?.display_name, role: user?.role });
      }
    }
    return members;
  }

  private disconnect(socket: Socket, code: number, reason: string): void {
    this.forget(socket);
    socket.ws.close({ code, reason });
  }

  private forget(socket: Socket): void {
    if (!this.sockets.delete(socket)) return;
    for (const channel of socket.channels) {
      if (channel.startsWith('presence-') && socket.userId && !this.members(channel).has(socket.userId)) {
        this.publish(channel, 'pusher_internal:member_removed', { user_id: socket.userId });
      }
    }
  }

  private publish(channel: string, event: string, data: unknown, except?: Socket): void {
    for (const socket of this.sockets) {
      if (socket !== except && socket.channels.has(channel)) this.send(socket, event, data, channel);
    }
  }

  private send(socket: Socket, event: string, data: unknown, channel?: string): void {
    try {
      socket.ws.send(JSON.stringify({ event, ...(channel ? { channel } : {}), data: JSON.stringify(data) }));
    } catch {
      // The page closed the socket (or the tab) in the meantime.
      this.forget(socket);
    }
  }
}
