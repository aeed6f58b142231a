// The ably-js transport, used when /api/config names Ably; realtime.ts loads it with a dynamic
// import, so pages on the Pusher protocol never download ably-js. It does what @ably/laravel-echo
// does (ably-forks/laravel-echo 1.0.6, src/channel/ably/auth.ts and src/connector/ably-connector.ts)
// with ably-js 2's tree-shakable build:
// - tokens come from POST /broadcasting/auth as JSON `{channel_name, token}`: first the connection's
//   (channel_name null), then one upgrade per channel, each answering `{token}` and, for presence,
//   `{info}`, the member data to enter with; ably-js asks again before the token expires;
// - `echoMessages: false`, so an event published with this connection's key (Laravel's `toOthers`)
//   does not come back to it;
// - channels by their Ably names (`private:user.{id}`, `presence:admins`).
import { BaseRealtime, FetchRequest, RealtimePresence, WebSocketTransport } from 'ably/modular';
import { ABLY_DEFAULT_HOST, ablyChannelName } from '../../functions/broadcast/ably-rules.ts';
import type { ClientConfig } from './api.ts';
import type { OnlineMember, PresenceMemberInfo } from './realtime.ts';
import type { Transport, TransportOptions, TransportState } from './transport.ts';

/** /broadcasting/auth refused a channel: its status and the server's sentence. */
class ChannelRefused extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Opens ably-js at `endpoint` and subscribes to `options`' channels. */
export function ablyTransport(endpoint: NonNullable<ClientConfig['ably']>, options: TransportOptions): Transport {
  /** Why the server refused a channel, by Ably name (shown instead of Ably's capability error). */
  const refusals = new Map<string, string>();
  /** The member data to enter each presence channel with, from its token answer. */
  const memberData = new Map<string, unknown>();
  const wanted = [...options.channels.map((s) => ablyChannelName(s.channel)), ...options.presence.map((s) => ablyChannelName(s.channel))];

  let held: string | null = null;
  async function requestToken(channelName: string | null): Promise<{ token: string; info?: unknown }> {
    const response = await fetch('/broadcasting/auth', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...options.auth() },
      body: JSON.stringify({ channel_name: channelName, token: held }),
    });
    // Refusals come in Ably's shape, `{error: {message, code, statusCode}}`, which ably-js reads too; a
    // misconfigured server answers before the route, with the plain `{error: sentence}`.
    const body = (await response.json().catch(() => ({}))) as { token?: string; info?: unknown; error?: { message?: string } | string };
    if (!response.ok || !body.token) {
      const reason = typeof body.error === 'string' ? body.error : body.error?.message;
      throw new ChannelRefused(response.status, reason ?? `the server refused access (${response.status})`);
    }
    held = body.token;
    return { token: body.token, info: body.info };
  }

  /** A fresh token for every channel the page wants (a refused channel is left out and remembered). */
  async function tokenForAll(): Promise<string> {
    held = null;
    await requestToken(null);
    for (const name of wanted) {
      try {
        const { info } = await requestToken(name);
        if (info !== undefined) memberData.set(name, info);
        refusals.delete(name);
      } catch (error) {
        if (!(error instanceof ChannelRefused) || error.status !== 403) throw error;
        refusals.set(name, error.message);
      }
    }
    return held!;
  }

  const custom = endpoint.host !== ABLY_DEFAULT_HOST;
  const client = new BaseRealtime({
    authCallback: (_params, callback) => {
      tokenForAll().then(
        (token) => callback(null, token),
        (error: unknown) => callback(error instanceof Error ? error.message : String(error), null),
      );
    },
    echoMessages: false,
    ...(custom
      ? { endpoint: endpoint.host, tls: endpoint.tls, ...(endpoint.tls ? { tlsPort: endpoint.port } : { port: endpoint.port }) }
      : {}),
    plugins: { WebSocketTransport, FetchRequest, RealtimePresence },
  });
  client.connection.on((change) => options.state(stateOf(change.current)));

  const refusedReason = (name: string, reason: { message?: string } | null | undefined) =>
    refusals.get(name) ?? reason?.message ?? 'the server refused access';

  for (const subscription of options.channels) {
    const name = ablyChannelName(subscription.channel);
    const channel = client.channels.get(name);
    channel.on('attached', () => subscription.subscribed());
    channel.on('failed', (change) => subscription.refused(refusedReason(name, change.reason)));
    void channel
      .subscribe((message) => {
        const handle = message.name ? subscription.events[message.name] : undefined;
        handle?.(message.data);
      })
      // A refused attach is reported by the 'failed' listener.
      .catch(() => {});
  }
  for (const subscription of options.presence) {
    const name = ablyChannelName(subscription.channel);
    const channel = client.channels.get(name);
    const publishMembers = async () => {
      const members = new Map<string, OnlineMember>();
      // One entry per user, however many connections (tabs) they have.
      for (const member of await channel.presence.get()) {
        if (member.clientId) members.set(member.clientId, { id: member.clientId, info: member.data as PresenceMemberInfo });
      }
      subscription.members([...members.values()]);
    };
    channel.on('failed', (change) => subscription.refused(refusedReason(name, change.reason)));
    channel.on('attached', () => {
      void channel.presence.enter(memberData.get(name)).catch(() => {});
      void publishMembers().catch(() => {});
    });
    void channel.presence.subscribe(() => void publishMembers().catch(() => {})).catch(() => {});
  }
  return { close: () => client.close() };
}

/** ably-js's states: it retries while "disconnected" or "suspended"; "closed" and "failed" are final. */
function stateOf(ablyState: string): TransportState {
  switch (ablyState) {
    case 'connected':
      return 'connected';
    case 'initialized':
    case 'connecting':
      return 'connecting';
    case 'disconnected':
    case 'suspended':
      return 'retrying';
    default: // 'closing', 'closed', 'failed'
      return 'closed';
  }
}
