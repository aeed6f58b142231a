// The WebSocket side: pusher-js connected to the realtime server (or Pusher Channels), authorized
// by the Worker with the user's Supabase token.
import Pusher, { type Channel, type PresenceChannel } from 'pusher-js';
import {
  ADMIN_PRESENCE_CHANNEL,
  EmailDeleted,
  type EmailDeletedPayload,
  EmailReceived,
  type EmailReceivedPayload,
  EmailUpdated,
  type EmailUpdatedPayload,
  type EventDefinition,
  userChannel,
} from '../../functions/broadcast/events.ts';
import type { ClientConfig } from './api.ts';

/** What a presence member shares with the others (`user_info`, from the Worker's channel rules). */
export interface PresenceMemberInfo {
  name: string;
  role: 'admin' | 'user';
}

/** What the page shows about the live connection. */
export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline';

/** A person in the presence channel (one entry per user, however many tabs they have open). */
export interface OnlineMember {
  id: string;
  info: PresenceMemberInfo;
}

/** What the realtime layer tells the page. */
export interface RealtimeHandlers {
  state(state: ConnectionStatus): void;
  /** The mailbox channel has answered on a new connection: anything sent meanwhile must be fetched now. */
  synced(): void;
  received(email: EmailReceivedPayload): void;
  updated(change: EmailUpdatedPayload): void;
  deleted(removal: EmailDeletedPayload): void;
  /** The admins online (only for an admin: see {@link ADMIN_PRESENCE_CHANNEL}). */
  presence(members: OnlineMember[]): void;
  /** A channel was refused (its authorization failed); the page says so instead of failing silently. */
  refused(channel: string, reason: string): void;
}

/** A running connection; `close()` ends it (sign-out). */
export interface Realtime {
  close(): void;
}

/**
 * Connects with the settings from /api/config and subscribes to the user's mailbox channel and,
 * for an admin, the admins' presence channel. pusher-js resubscribes after every reconnect; each resubscription calls
 * `synced`, which is when the page asks the API for what it missed. The state is `connected` only
 * once the mailbox channel has answered, because "Live" promises that new email shows at once.
 */
export function connectRealtime(
  config: ClientConfig['pusher'],
  me: { id: string; role: 'admin' | 'user' },
  token: () => string | null,
  on: RealtimeHandlers,
): Realtime {
  const auth = () => ({ Authorization: `Bearer ${token() ?? ''}` });
  const pusher = new Pusher(config.key, {
    cluster: config.cluster,
    // No host means hosted Pusher Channels, found by cluster; otherwise our own (or any compatible) server.
    ...(config.wsHost ? { wsHost: config.wsHost, wsPort: config.wsPort, wssPort: config.wsPort } : {}),
    forceTLS: config.forceTLS,
    enabledTransports: ['ws', 'wss'],
    disableStats: true,
    channelAuthorization: { endpoint: '/broadcasting/auth', transport: 'ajax', headersProvider: auth },
    userAuthentication: { endpoint: '/broadcasting/user-auth', transport: 'ajax', headersProvider: auth },
  });

  let everConnected = false;
  /** Whether the mailbox channel has answered (subscribed, or refused) on the current connection. */
  let mailboxAnswered = false;
  const report = () => {
    const state = connectionState(pusher.connection.state, everConnected);
    // A fresh socket is not live yet: events published before the subscription lands are missed.
    on.state(state === 'connected' && !mailboxAnswered ? (everConnected ? 'reconnecting' : 'connecting') : state);
  };
  pusher.connection.bind('state_change', ({ current }: { current: string }) => {
    if (current !== 'connected') mailboxAnswered = false;
    report();
  });
  pusher.connection.bind('connected', () => (everConnected = true));
  on.state('connecting');

  const mailbox: Channel = pusher.subscribe(userChannel(me.id));
  const answered = () => {
    mailboxAnswered = true;
    report();
    on.synced();
  };
  mailbox.bind('pusher:subscription_succeeded', answered);
  mailbox.bind('pusher:subscription_error', (error: unknown) => {
    on.refused(mailbox.name, describe(error));
    // Refused, the page still catches up through the API on each reconnect.
    answered();
  });
  // Payloads are checked against the shared schemas: a malformed event is dropped, not rendered.
  mailbox.bind(EmailReceived.name, (data: unknown) => checked(EmailReceived, data, on.received));
  mailbox.bind(EmailUpdated.name, (data: unknown) => checked(EmailUpdated, data, on.updated));
  mailbox.bind(EmailDeleted.name, (data: unknown) => checked(EmailDeleted, data, on.deleted));

  if (me.role === 'admin') {
    const presence = pusher.subscribe(ADMIN_PRESENCE_CHANNEL) as PresenceChannel;
    const publishMembers = () => {
      const members: OnlineMember[] = [];
      presence.members.each((member: { id: string; info: PresenceMemberInfo }) => void members.push({ id: member.id, info: member.info }));
      on.presence(members);
    };
    for (const name of ['pusher:subscription_succeeded', 'pusher:member_added', 'pusher:member_removed'])
      presence.bind(name, publishMembers);
    presence.bind('pusher:subscription_error', (error: unknown) => on.refused(ADMIN_PRESENCE_CHANNEL, describe(error)));
  }

  // The browser knows it is offline before the socket times out; say so at once.
  const offline = () => on.state('offline');
  window.addEventListener('offline', offline);

  return {
    close() {
      window.removeEventListener('offline', offline);
      pusher.disconnect();
    },
  };
}

/** Calls `handle` with the payload parsed by the event's shared schema, or drops an event that breaks it. */
function checked<T>(event: Pick<EventDefinition<string, T, never>, 'name' | 'schema'>, data: unknown, handle: (payload: T) => void): void {
  const result = event.schema.safeParse(data);
  if (result.success) handle(result.data);
  else console.warn(`Ignored a malformed ${event.name} event`, result.error);
}

/** pusher-js reports a refused subscription as `{ type, error, status }`. */
function describe(error: unknown): string {
  const { error: message, status } = (error ?? {}) as { error?: unknown; status?: unknown };
  if (typeof status === 'number') return `the server refused access (${status})`;
  return typeof message === 'string' && message ? message : 'the server refused access';
}

/** Maps pusher-js connection states to what the user needs to know. */
function connectionState(pusherState: string, everConnected: boolean): ConnectionStatus {
  switch (pusherState) {
    case 'connected':
      return 'connected';
    case 'connecting':
    case 'initialized':
      if (!navigator.onLine) return 'offline';
      return everConnected ? 'reconnecting' : 'connecting';
    case 'unavailable':
      // pusher-js keeps retrying while "unavailable"; it is only truly offline without a network.
      return navigator.onLine ? 'reconnecting' : 'offline';
    default: // 'disconnected', 'failed'
      return 'offline';
  }
}
