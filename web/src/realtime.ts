// The live side: one subscription set (the user's mailbox channel and, for an admin, the admins'
// presence channel) over one of two transports: pusher-js for the realtime server, Pusher Channels
// or any Pusher-compatible host, or ably-js when /api/config names Ably (loaded only then). The
// connection status, catch-up and event checks below are the same for both.
import {
  ADMIN_PRESENCE_CHANNEL,
  ANNOUNCEMENTS_CHANNEL,
  AnnouncementCreated,
  type AnnouncementPayload,
  EmailDeleted,
  type EmailDeletedPayload,
  EmailReceived,
  type EmailReceivedPayload,
  EmailsUpdated,
  EmailUpdated,
  type EmailUpdatedPayload,
  type EventDefinition,
  userChannel,
} from '../../functions/broadcast/events.ts';
import type { ClientConfig } from './api.ts';
import { pusherTransport } from './pusher-transport.ts';
import type { Transport, TransportOptions, TransportState } from './transport.ts';

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
  /** The announcements channel has answered on a new connection: fetch what was announced meanwhile. */
  announcementsSynced(): void;
  announced(announcement: AnnouncementPayload): void;
  /** The admins online (only for an admin: see {@link ADMIN_PRESENCE_CHANNEL}). */
  presence(members: OnlineMember[]): void;
  /** A channel was refused (its authorization failed); the page says so instead of failing silently. */
  refused(channel: string, reason: string): void;
}

/** A running connection; `close()` ends it (sign-out). */
export interface Realtime {
  close(): void;
}

/** Opens the transport /api/config names: ably-js (a separate chunk, loaded now) or pusher-js. */
async function openTransport(config: ClientConfig, options: TransportOptions): Promise<Transport> {
  if (config.ably) {
    const { ablyTransport } = await import('./ably-transport.ts');
    return ablyTransport(config.ably, options);
  }
  return pusherTransport(config.pusher, options);
}

/**
 * Connects with the settings from /api/config and subscribes to the user's mailbox channel and,
 * for an admin, the admins' presence channel. Both transports resubscribe after every reconnect;
 * each resubscription calls `synced`, which is when the page asks the API for what it missed. The
 * state is `connected` only once the mailbox channel has answered, because "Live" promises that new
 * email shows at once.
 */
export function connectRealtime(
  config: ClientConfig,
  me: { id: string; role: 'admin' | 'user' },
  token: () => string | null,
  on: RealtimeHandlers,
): Realtime {
  let everConnected = false;
  let current: TransportState = 'connecting';
  /** Whether the mailbox channel has answered (subscribed, or refused) on the current connection. */
  let mailboxAnswered = false;
  const report = () => {
    const state = connectionState(current, everConnected);
    // A fresh socket is not live yet: events published before the subscription lands are missed.
    on.state(state === 'connected' && !mailboxAnswered ? (everConnected ? 'reconnecting' : 'connecting') : state);
  };
  const answered = () => {
    mailboxAnswered = true;
    report();
    on.synced();
  };
  on.state('connecting');

  const mailbox = userChannel(me.id);
  const options: TransportOptions = {
    auth: () => ({ Authorization: `Bearer ${token() ?? ''}` }),
    state: (state) => {
      current = state;
      if (state !== 'connected') mailboxAnswered = false;
      report();
      if (state === 'connected') everConnected = true;
    },
    channels: [
      {
        channel: mailbox,
        // Payloads are checked against the shared schemas: a malformed event is dropped, not rendered.
        events: {
          [EmailReceived.name]: (data) => checked(EmailReceived, data, on.received),
          [EmailUpdated.name]: (data) => checked(EmailUpdated, data, on.updated),
          // Several emails of one statement (mark all read in another tab): each as its own update.
          [EmailsUpdated.name]: (data) =>
            checked(EmailsUpdated, data, ({ emails }) => {
              for (const change of emails) on.updated(change);
            }),
          [EmailDeleted.name]: (data) => checked(EmailDeleted, data, on.deleted),
        },
        subscribed: answered,
        // Not live yet (the status keeps saying so), but the page shows what the API has meanwhile.
        retrying: () => on.synced(),
        refused: (reason) => {
          on.refused(mailbox, reason);
          // Refused, the page still catches up through the API on each reconnect.
          answered();
        },
      },
      {
        // Admin announcements, for everyone signed in.
        channel: ANNOUNCEMENTS_CHANNEL,
        events: { [AnnouncementCreated.name]: (data) => checked(AnnouncementCreated, data, on.announced) },
        subscribed: () => on.announcementsSynced(),
        refused: (reason) => on.refused(ANNOUNCEMENTS_CHANNEL, reason),
      },
    ],
    presence:
      me.role === 'admin'
        ? [{ channel: ADMIN_PRESENCE_CHANNEL, members: on.presence, refused: (reason) => on.refused(ADMIN_PRESENCE_CHANNEL, reason) }]
        : [],
  };

  let closed = false;
  const transport = openTransport(config, options).catch((error: unknown) => {
    // The Ably client could not be loaded (offline, or a deploy replaced the chunk): say so.
    on.refused(mailbox, `the realtime client could not be loaded (${error instanceof Error ? error.message : String(error)})`);
    // No transport will report a state: closed for good, so every report says offline.
    current = 'closed';
    report();
    return null;
  });
  void transport.then((opened) => {
    if (closed) opened?.close();
  });

  // The browser knows it is offline before the socket times out; say so at once. A blip may leave
  // the socket up (no state change follows), so back online the status is the socket's again.
  const offline = () => on.state('offline');
  window.addEventListener('offline', offline);
  window.addEventListener('online', report);

  return {
    close() {
      closed = true;
      window.removeEventListener('offline', offline);
      window.removeEventListener('online', report);
      void transport.then((opened) => opened?.close());
    },
  };
}

/** Calls `handle` with the payload parsed by the event's shared schema, or drops an event that breaks it. */
function checked<T>(event: Pick<EventDefinition<string, T, never>, 'name' | 'schema'>, data: unknown, handle: (payload: T) => void): void {
  const result = event.schema.safeParse(data);
  if (result.success) handle(result.data);
  else console.warn(`Ignored a malformed ${event.name} event`, result.error);
}

/** Maps a transport's state to what the user needs to know. */
function connectionState(state: TransportState, everConnected: boolean): ConnectionStatus {
  switch (state) {
    case 'connected':
      return 'connected';
    case 'connecting':
      if (!navigator.onLine) return 'offline';
      return everConnected ? 'reconnecting' : 'connecting';
    case 'retrying':
      // Both clients keep retrying; it is only truly offline without a network.
      return navigator.onLine ? 'reconnecting' : 'offline';
    case 'closed':
      return 'offline';
  }
}
