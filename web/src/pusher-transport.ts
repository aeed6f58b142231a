// The pusher-js transport: the realtime server, Pusher Channels or any Pusher-compatible host,
// with channel auth at /broadcasting/auth and user sign-in at /broadcasting/user-auth.
import Pusher, { type Channel, type PresenceChannel } from 'pusher-js';
import type { ClientConfig } from './api.ts';
import type { OnlineMember, PresenceMemberInfo } from './realtime.ts';
import type { Transport, TransportOptions, TransportState } from './transport.ts';

/** Opens pusher-js with the settings from /api/config and subscribes to `options`' channels. */
export function pusherTransport(config: ClientConfig['pusher'], options: TransportOptions): Transport {
  const pusher = new Pusher(config.key, {
    cluster: config.cluster,
    // No host means hosted Pusher Channels, found by cluster; otherwise our own (or any compatible) server.
    ...(config.wsHost ? { wsHost: config.wsHost, wsPort: config.wsPort, wssPort: config.wsPort } : {}),
    forceTLS: config.forceTLS,
    enabledTransports: ['ws', 'wss'],
    disableStats: true,
    channelAuthorization: { endpoint: '/broadcasting/auth', transport: 'ajax', headersProvider: options.auth },
    userAuthentication: { endpoint: '/broadcasting/user-auth', transport: 'ajax', headersProvider: options.auth },
  });
  pusher.connection.bind('state_change', ({ current }: { current: string }) => options.state(stateOf(current)));

  const timers: ReturnType<typeof setTimeout>[] = [];
  for (const subscription of options.channels) {
    const channel = pusher.subscribe(subscription.channel);
    channel.bind('pusher:subscription_succeeded', () => subscription.subscribed());
    retryWhenBusy(pusher, channel, subscription, timers);
    for (const [name, handle] of Object.entries(subscription.events)) channel.bind(name, handle);
  }
  for (const subscription of options.presence) {
    const presence = pusher.subscribe(subscription.channel) as PresenceChannel;
    const publishMembers = () => {
      const members: OnlineMember[] = [];
      presence.members.each((member: { id: string; info: PresenceMemberInfo }) => void members.push({ id: member.id, info: member.info }));
      subscription.members(members);
    };
    for (const name of ['pusher:subscription_succeeded', 'pusher:member_added', 'pusher:member_removed'])
      presence.bind(name, publishMembers);
    retryWhenBusy(pusher, presence, subscription, timers);
  }
  return {
    close: () => {
      for (const timer of timers) clearTimeout(timer);
      pusher.disconnect();
    },
  };
}

/** How long to wait before subscribing again after each failure worth retrying; then it gives up. */
const RETRY_DELAYS_MS = [1000, 2000, 5000, 10_000, 30_000];

/**
 * pusher-js gives up on a channel at its first `pusher:subscription_error`. A refusal (401, 403) is
 * final; but a 5xx or 429 from the auth endpoint or the server (a database blip, an overloaded
 * channel object), or no answer, may pass a moment later: subscribe again after a growing delay,
 * and report it refused only after the last one.
 */
function retryWhenBusy(
  pusher: Pusher,
  channel: Channel,
  subscription: { refused(reason: string): void; retrying?(reason: string, delayMs: number): void },
  timers: ReturnType<typeof setTimeout>[],
): void {
  let failures = 0;
  channel.bind('pusher:subscription_succeeded', () => {
    failures = 0;
  });
  channel.bind('pusher:subscription_error', (error: unknown) => {
    const { status } = (error ?? {}) as { status?: unknown };
    // pusher-js reports an auth request that got no answer (offline, connection reset) as status 0.
    const busy = typeof status !== 'number' || status === 0 || status === 429 || status >= 500;
    const delay = busy ? RETRY_DELAYS_MS[failures] : undefined;
    if (delay === undefined) return subscription.refused(describe(error));
    failures++;
    subscription.retrying?.(describe(error), delay);
    timers.push(
      setTimeout(() => {
        // Disconnected meanwhile: pusher-js subscribes every channel again when it reconnects.
        if (pusher.connection.state !== 'connected' || channel.subscribed) return;
        // An error frame from the server leaves the channel pending, and pusher-js would not send again.
        channel.subscriptionPending = false;
        channel.subscribe();
      }, delay),
    );
  });
}

/** pusher-js reports a refused subscription as `{ type, error, status }`. */
function describe(error: unknown): string {
  const { error: message, status } = (error ?? {}) as { error?: unknown; status?: unknown };
  if (typeof status === 'number') return `the server refused access (${status})`;
  return typeof message === 'string' && message ? message : 'the server refused access';
}

/** pusher-js's states: it keeps retrying while "unavailable"; "disconnected" and "failed" are final. */
function stateOf(pusherState: string): TransportState {
  switch (pusherState) {
    case 'connected':
      return 'connected';
    case 'connecting':
    case 'initialized':
      return 'connecting';
    case 'unavailable':
      return 'retrying';
    default: // 'disconnected', 'failed'
      return 'closed';
  }
}
