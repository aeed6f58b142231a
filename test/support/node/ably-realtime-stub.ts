// The realtime half of the Ably stand-in (Ably cannot run here): the WebSocket protocol ably-js 2
// speaks (JSON format, the protocol message actions of ably-js's src/common/lib/types/protocolmessagecommon.ts),
// enough for the web client's transport:
// - connect with `access_token` (an Ably JWT, https://ably.com/docs/auth/token/jwt): HS256 with the
//   key secret and `kid` the key name, else an ERROR (40101 / 40142 expired) and close; CONNECTED
//   carries the connection id, its private key and its clientId;
// - clientIds as Ably binds them (https://ably.com/docs/auth/identified-clients): a token's
//   `x-ably-clientId` is the connection's clientId, which never changes; a token with the wildcard
//   `*` lets the connection take any clientId (the `clientId` connection parameter, or per presence
//   member), a token without one none. A `clientId` parameter the token does not permit, or an AUTH
//   with a token for another clientId, is an ERROR with 40102 (Incompatible credentials: "Mismatched
//   clientId for existing connection") that closes the connection;
// - ATTACH a channel the token's `x-ably-capability` allows to subscribe (exact name,
//   `namespace:*` or `*`), else a channel ERROR with 40160, which fails the channel; ATTACHED, with
//   HAS_PRESENCE and a SYNC of the members when there are any;
// - PRESENCE enter/update/leave from a client with the `presence` capability (else NACK 40160), as
//   the connection's clientId or, with a wildcard token, the member's own (a clientId the
//   credentials do not permit: NACK 40012, Invalid client ID; no clientId at all: NACK 91000,
//   Cannot enter presence without a clientId), sent to every connection attached to the channel; a
//   closed socket leaves;
// - messages published through the REST half go to every connection attached to the channel, except
//   the publisher's own connection when it connected with `echo=false` (https://ably.com/docs/api/realtime-sdk#client-options, echoMessages);
// - HEARTBEAT answered, CLOSE answered with CLOSED, DETACH with DETACHED, AUTH (a new token) with CONNECTED.
import type { IncomingMessage, Server } from 'node:http';
import { jwtVerify } from 'jose';
import { type WebSocket, WebSocketServer } from 'ws';
import type { AcceptedAblyMessage } from './ably-rest-stub.ts';

const ACTION = {
  HEARTBEAT: 0,
  ACK: 1,
  NACK: 2,
  CONNECTED: 4,
  CLOSE: 7,
  CLOSED: 8,
  ERROR: 9,
  ATTACH: 10,
  ATTACHED: 11,
  DETACH: 12,
  DETACHED: 13,
  PRESENCE: 14,
  MESSAGE: 15,
  SYNC: 16,
  AUTH: 17,
} as const;
const HAS_PRESENCE = 1 << 0;
const PRESENCE_ACTIONS = ['absent', 'present', 'enter', 'leave', 'update'] as const;

interface ErrorInfo {
  message: string;
  code: number;
  statusCode: number;
}

/** A live realtime connection, as the REST half needs it (connectionKey → this). */
export interface RealtimeConnection {
  connectionId: string;
  /** Its identity: the token's clientId, the one it took under a wildcard token, `*` or null. */
  clientId: string | null;
}

interface Client extends RealtimeConnection {
  ws: WebSocket;
  key: string;
  echo: boolean;
  /** The clientId its token names: an id, the wildcard `*`, or null (anonymous). */
  tokenClientId: string | null;
  capability: Record<string, string[]>;
  attached: Set<string>;
  serial: number;
}

/** The wildcard clientId: a token with it may act as any clientId. */
const WILDCARD = '*';

interface Member {
  clientId: string;
  connectionId: string;
  data: unknown;
  /** As the client sent it: ably-js JSON-encodes object data (`json`). */
  encoding?: string;
  id: string;
  timestamp: number;
}

/**
 * The error for a connection whose token names `tokenClientId` taking `clientId` (its `clientId`
 * parameter, or a new token's on AUTH), or null when the token permits it: only the wildcard permits
 * another clientId, and an anonymous token none.
 */
function clientIdMismatch(tokenClientId: string | null, clientId: string | null): ErrorInfo | null {
  if (clientId === tokenClientId || tokenClientId === WILDCARD) return null;
  return {
    message: `Mismatched clientId for existing connection: the token is for ${tokenClientId === null ? 'no clientId' : `'${tokenClientId}'`}, not '${String(clientId)}'`,
    code: 40102,
    statusCode: 401,
  };
}

/** Whether `capability` grants `operation` on `channel` (exact name, `namespace:*`, or `*`). */
export function allows(capability: Record<string, string[]>, channel: string, operation: string): boolean {
  const namespace = channel.includes(':') ? `${channel.slice(0, channel.indexOf(':'))}:*` : null;
  return [channel, namespace, '*'].some((resource) => {
    const operations = resource === null ? undefined : capability[resource];
    return operations !== undefined && (operations.includes('*') || operations.includes(operation));
  });
}

/**
 * Serves Ably's realtime protocol on `server` (WebSocket upgrades), sharing `connections` with the
 * REST half; returns `deliver`, which the REST half calls with every message it accepts.
 */
export function serveAblyRealtime(
  server: Server,
  key: string,
  connections: Map<string, RealtimeConnection>,
): { deliver: (messages: AcceptedAblyMessage[]) => void; close: () => void } {
  const [keyName, keySecret] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
  const wss = new WebSocketServer({ noServer: true });
  const clients = new Set<Client>();
  const members = new Map<string, Map<string, Member>>();
  let serial = 0;

  const send = (client: Client, message: Record<string, unknown>) => client.ws.send(JSON.stringify(message));

  async function verify(token: string | null): Promise<{ clientId: string | null; capability: Record<string, string[]> } | ErrorInfo> {
    if (!token) return { message: 'No access_token', code: 40101, statusCode: 401 };
    try {
      const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(keySecret), { algorithms: ['HS256'] });
      if (protectedHeader.kid !== keyName) return { message: `Unknown key '${String(protectedHeader.kid)}'`, code: 40101, statusCode: 401 };
      const clientId = payload['x-ably-clientId'];
      return {
        clientId: typeof clientId === 'string' ? clientId : null,
        capability: JSON.parse(String(payload['x-ably-capability'])) as Record<string, string[]>,
      };
    } catch (error) {
      const expired = (error as { code?: string }).code === 'ERR_JWT_EXPIRED';
      return expired
        ? { message: 'Token expired', code: 40142, statusCode: 401 }
        : { message: 'Invalid token', code: 40101, statusCode: 401 };
    }
  }

  function presenceOf(channel: string): Map<string, Member> {
    const map = members.get(channel) ?? new Map<string, Member>();
    members.set(channel, map);
    return map;
  }

  function broadcastPresence(channel: string, action: (typeof PRESENCE_ACTIONS)[number], member: Member): void {
    for (const other of clients) {
      if (!other.attached.has(channel)) continue;
      send(other, {
        action: ACTION.PRESENCE,
        channel,
        connectionId: member.connectionId,
        timestamp: member.timestamp,
        presence: [{ ...member, action: PRESENCE_ACTIONS.indexOf(action) }],
      });
    }
  }

  function leaveAll(client: Client): void {
    for (const [channel, map] of members) {
      for (const [memberKey, member] of map) {
        if (member.connectionId !== client.connectionId) continue;
        map.delete(memberKey);
        broadcastPresence(channel, 'leave', { ...member, id: `${client.connectionId}:${++client.serial}:0`, timestamp: Date.now() });
      }
    }
  }

  async function onFrame(client: Client, message: Record<string, unknown>): Promise<void> {
    const channel = typeof message.channel === 'string' ? message.channel : '';
    switch (message.action) {
      case ACTION.HEARTBEAT:
        return send(client, { action: ACTION.HEARTBEAT, ...(message.id ? { id: message.id } : {}) });
      case ACTION.CLOSE:
        send(client, { action: ACTION.CLOSED });
        return client.ws.close();
      case ACTION.AUTH: {
        const verified = await verify(String((message.auth as { accessToken?: string } | undefined)?.accessToken ?? ''));
        if ('code' in verified) return send(client, { action: ACTION.ERROR, error: verified });
        // A connection's clientId never changes: a token for another one is refused, and the connection closed.
        const mismatch = client.tokenClientId === verified.clientId ? null : clientIdMismatch(verified.clientId, client.clientId);
        if (mismatch) return refuseConnection(client.ws, mismatch);
        client.tokenClientId = verified.clientId;
        client.capability = verified.capability;
        return send(client, connectedMessage(client));
      }
      case ACTION.ATTACH: {
        if (!allows(client.capability, channel, 'subscribe')) {
          return send(client, {
            action: ACTION.ERROR,
            channel,
            error: { message: `Channel denied access based on given capability; channel = ${channel}`, code: 40160, statusCode: 401 },
          });
        }
        client.attached.add(channel);
        const present = [...presenceOf(channel).values()];
        send(client, { action: ACTION.ATTACHED, channel, flags: present.length > 0 ? HAS_PRESENCE : 0 });
        if (present.length > 0) {
          // An empty cursor after the colon ends the sync.
          send(client, {
            action: ACTION.SYNC,
            channel,
            channelSerial: 'sync:',
            presence: present.map((member) => ({ ...member, action: PRESENCE_ACTIONS.indexOf('present') })),
          });
        }
        return;
      }
      case ACTION.DETACH:
        client.attached.delete(channel);
        return send(client, { action: ACTION.DETACHED, channel });
      case ACTION.PRESENCE: {
        const msgSerial = message.msgSerial;
        const nack = (error: ErrorInfo) => send(client, { action: ACTION.NACK, msgSerial, count: 1, error });
        if (!allows(client.capability, channel, 'presence')) {
          return nack({
            message: `Channel denied access based on given capability (no presence); channel = ${channel}`,
            code: 40160,
            statusCode: 401,
          });
        }
        const entries = (message.presence as Array<{ action: number; clientId?: unknown; data?: unknown; encoding?: string }>) ?? [];
        // Every member is checked before any enters: a refused message changes nothing.
        const clientIds: string[] = [];
        for (const entry of entries) {
          const clientId = entry.clientId === undefined ? client.clientId : entry.clientId;
          if (clientId === null || clientId === WILDCARD) {
            return nack({ message: `Unable to enter presence channel (no clientId); channel = ${channel}`, code: 91000, statusCode: 400 });
          }
          if (typeof clientId !== 'string' || (clientId !== client.clientId && client.tokenClientId !== WILDCARD)) {
            return nack({
              message: `Invalid clientId '${String(clientId)}' for this connection's credentials (it is '${String(client.clientId)}'); channel = ${channel}`,
              code: 40012,
              statusCode: 400,
            });
          }
          clientIds.push(clientId);
        }
        for (const [index, entry] of entries.entries()) {
          const action = PRESENCE_ACTIONS[entry.action] ?? 'enter';
          const clientId = clientIds[index]!;
          const member: Member = {
            clientId,
            connectionId: client.connectionId,
            data: entry.data,
            ...(entry.encoding ? { encoding: entry.encoding } : {}),
            id: `${client.connectionId}:${String(msgSerial)}:${index}`,
            timestamp: Date.now(),
          };
          const memberKey = `${client.connectionId}:${clientId}`;
          if (action === 'leave') presenceOf(channel).delete(memberKey);
          else presenceOf(channel).set(memberKey, member);
          broadcastPresence(channel, action, member);
        }
        return send(client, { action: ACTION.ACK, msgSerial, count: 1 });
      }
      default:
        return send(client, {
          action: ACTION.NACK,
          msgSerial: message.msgSerial,
          count: 1,
          error: { message: `Not supported by the stand-in: action ${String(message.action)}`, code: 40000, statusCode: 400 },
        });
    }
  }

  /** An ERROR without a channel fails the connection (ably-js goes to `failed`); the socket then closes. */
  function refuseConnection(ws: WebSocket, error: ErrorInfo): void {
    ws.send(JSON.stringify({ action: ACTION.ERROR, error }));
    ws.close();
  }

  function connectedMessage(client: Client): Record<string, unknown> {
    return {
      action: ACTION.CONNECTED,
      connectionId: client.connectionId,
      connectionDetails: {
        clientId: client.clientId ?? undefined,
        connectionKey: client.key,
        maxMessageSize: 65_536,
        maxFrameSize: 524_288,
        maxInboundRate: 100,
        connectionStateTtl: 120_000,
        // No idle timeout: the stand-in sends no heartbeats of its own.
        maxIdleInterval: 0,
        serverId: 'ably-stand-in',
      },
    };
  }

  server.on('upgrade', (request: IncomingMessage, socket, head) => {
    wss.handleUpgrade(request, socket, head, async (ws) => {
      const params = new URL(request.url ?? '/', 'http://127.0.0.1').searchParams;
      const verified = await verify(params.get('access_token'));
      if ('code' in verified) return refuseConnection(ws, verified);
      // ably-js sends ClientOptions.clientId as the `clientId` parameter; the token must permit it.
      const asked = params.get('clientId');
      const mismatch = asked === null ? null : clientIdMismatch(verified.clientId, asked);
      if (mismatch) return refuseConnection(ws, mismatch);
      serial += 1;
      const client: Client = {
        ws,
        connectionId: `rt-${serial}`,
        key: `rt${serial}!${crypto.randomUUID()}`,
        clientId: asked ?? verified.clientId,
        tokenClientId: verified.clientId,
        capability: verified.capability,
        echo: params.get('echo') !== 'false',
        attached: new Set(),
        serial: 0,
      };
      clients.add(client);
      connections.set(client.key, client);
      ws.on('message', (data) => {
        let message: Record<string, unknown>;
        try {
          message = JSON.parse(String(data)) as Record<string, unknown>;
        } catch {
          return;
        }
        void onFrame(client, message);
      });
      ws.on('close', () => {
        clients.delete(client);
        connections.delete(client.key);
        leaveAll(client);
      });
      send(client, connectedMessage(client));
    });
  });

  return {
    deliver(messages) {
      for (const [index, message] of messages.entries()) {
        serial += 1;
        for (const client of clients) {
          if (!client.attached.has(message.channel)) continue;
          // echoMessages false: a message published on behalf of this connection does not come back to it.
          if (!client.echo && message.connectionId === client.connectionId) continue;
          const id = `rest-${serial}`;
          send(client, {
            action: ACTION.MESSAGE,
            channel: message.channel,
            id,
            timestamp: Date.now(),
            messages: [
              {
                id: `${id}:${index}`,
                name: message.name,
                data: message.data,
                encoding: message.encoding,
                clientId: message.clientId,
                connectionId: message.connectionId,
                timestamp: Date.now(),
              },
            ],
          });
        }
      }
    },
    close() {
      for (const client of clients) client.ws.terminate();
      wss.close();
    },
  };
}
