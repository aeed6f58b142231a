// The pusher-js transport: the realtime server, Pusher Channels or any Pusher-compatible host,
// with channel auth at /broadcasting/auth and user sign-in at /broadcasting/user-auth.
import Pusher, { type PresenceChannel } from 'pusher-js';
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

  for (const subscription of options.channels) {
    const channel = pusher.subscribe(subscription.channel);
    channel.bind('pusher:subscription_succeeded', () => subscription.subscribed());
    channel.bind('pusher:subscription_error', (error: unknown) => subscription.refused(describe(error)));
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
    presence.bind('pusher:subscription_error', (error: unknown) => subscription.refused(describe(error)));
  }
  return { close: () => pusher.disconnect() };
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
