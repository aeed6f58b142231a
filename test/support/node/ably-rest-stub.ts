// A stand-in for Ably's REST API (Ably cannot run here), answering as Ably documents it:
// - POST /channels/{channel}/messages publishes one message or an array (201 `{channel, messageId}`);
//   POST /messages takes BatchSpecs `{channels, messages}`, at most 100 channels and 2 MiB per
//   request, and answers one `{successCount, failureCount, results}` per spec under X-Ably-Version 2
//   or later, or the older 400 with code 40020 and `batchResponse` on a partial failure
//   (https://ably.com/docs/rest/batch).
// - Basic auth with the API key (https://ably.com/docs/auth/basic): anything else is a 401, code 40101.
//   GET /time, the service time (`[milliseconds since the epoch]`), needs none.
// - Messages: `name` and `data` text, `encoding` one of utf-8, json, json/utf-8 (data must then be
//   JSON), at most 65,536 bytes of name, clientId and data (40009, ably-js's default limit); a channel
//   name may not start with `[` or `:` (40010); `connectionKey` must be a live connection's key
//   (40006) whose clientId matches the message's (40012), and the message is then that
//   connection's own: its `connectionId` is recorded with it.
// - Errors: `{"error": {"message", "code", "statusCode", "href"}}` with x-ably-errorcode and
//   x-ably-errormessage headers (ably/open-specs, definitions/platform-v1.yaml).
// Not part of Ably's API: a channel whose name contains `stub-unavailable` fails with a 503 (code
// 50003), as Ably does when a channel's region is out of reach, so tests can see a 5xx; GET
// /__accepted lists what was published, POST /__connections opens a connection.
// With `realtime`, the same port also speaks Ably's realtime protocol (ably-realtime-stub.ts), and
// what is published reaches its connections.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';
import { type RealtimeConnection, serveAblyRealtime } from './ably-realtime-stub.ts';

/** A message the stand-in accepted, with the connection it was published on behalf of. */
export interface AcceptedAblyMessage {
  channel: string;
  name: string | undefined;
  data: string | undefined;
  encoding: string | undefined;
  clientId: string | undefined;
  /** Set when the publisher sent a live connection's `connectionKey`. */
  connectionId: string | undefined;
}

/** A request the stand-in answered with a 2xx, as a test reads it. */
export interface AcceptedAblyRequest {
  method: string;
  path: string;
  headers: { authorization: string; contentType: string; ablyVersion: string | null };
  body: unknown;
  messages: AcceptedAblyMessage[];
}

/** Ably's documented limits the stand-in enforces. */
const MESSAGE_BYTES = 65_536;
const CHANNELS_PER_BATCH = 100;
const BATCH_BODY_BYTES = 2 * 1024 * 1024;

interface AblyError {
  message: string;
  code: number;
  statusCode: number;
  href: string;
}

function ablyError(statusCode: number, code: number, message: string): AblyError {
  return { message, code, statusCode, href: `https://help.ably.io/error/${code}` };
}

class Refused extends Error {
  readonly error: AblyError;
  constructor(error: AblyError) {
    super(error.message);
    this.error = error;
  }
}

type Connection = RealtimeConnection;

/** Checks one message for `channel`; the accepted message, or a Refused with Ably's code. */
export function checkAblyMessage(channel: string, raw: unknown, connections: Map<string, Connection>): AcceptedAblyMessage {
  if (channel === '' || channel.startsWith('[') || channel.startsWith(':')) {
    throw new Refused(ablyError(400, 40010, `Invalid channel name: '${channel}'`));
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Refused(ablyError(400, 40001, 'Invalid request body: expected a message object'));
  const { name, data, encoding, clientId, connectionKey } = raw as Record<string, unknown>;
  if (name !== undefined && typeof name !== 'string') throw new Refused(ablyError(400, 40001, 'Invalid message name'));
  if (data !== undefined && typeof data !== 'string') throw new Refused(ablyError(400, 40013, 'Invalid message data: expected text'));
  if (encoding !== undefined && !['utf-8', 'json', 'json/utf-8'].includes(encoding as string)) {
    throw new Refused(ablyError(400, 40013, `Unsupported encoding '${String(encoding)}'`));
  }
  if (typeof encoding === 'string' && encoding.startsWith('json')) {
    try {
      JSON.parse((data as string | undefined) ?? '');
    } catch {
      throw new Refused(ablyError(400, 40013, `Message data is not JSON, but its encoding is '${encoding}'`));
    }
  }
  if (clientId !== undefined && typeof clientId !== 'string') throw new Refused(ablyError(400, 40012, 'Invalid clientId'));
  const size =
    Buffer.byteLength((name as string) ?? '') + Buffer.byteLength((clientId as string) ?? '') + Buffer.byteLength((data as string) ?? '');
  if (size > MESSAGE_BYTES)
    throw new Refused(ablyError(400, 40009, `Maximum message length exceeded: ${size} bytes (at most ${MESSAGE_BYTES})`));
  let connectionId: string | undefined;
  if (connectionKey !== undefined) {
    const connection = typeof connectionKey === 'string' ? connections.get(connectionKey) : undefined;
    if (!connection) throw new Refused(ablyError(400, 40006, `Invalid connectionKey: '${String(connectionKey)}'`));
    if ((clientId ?? null) !== connection.clientId) {
      throw new Refused(
        ablyError(400, 40012, `Mismatched clientId: the connection is '${connection.clientId}', the message '${String(clientId)}'`),
      );
    }
    connectionId = connection.connectionId;
  }
  if (channel.includes('stub-unavailable')) throw new Refused(ablyError(503, 50003, `Channel ${channel} is unavailable`));
  return {
    channel,
    name: name as string | undefined,
    data: data as string | undefined,
    encoding: encoding as string | undefined,
    clientId: clientId as string | undefined,
    connectionId,
  };
}

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

/**
 * The stand-in for Ably's REST API; `key` is the whole API key (`appId.keyId:keySecret`). With
 * `realtime`, ably-js clients can connect to the same port and receive what is published.
 */
export async function startAblyRestStub(
  key: string,
  options: { realtime?: boolean } = {},
): Promise<{
  port: number;
  accepted: AcceptedAblyRequest[];
  /** Publishes `message` on `channel` with the key, as a server does: `POST /channels/{channel}/messages`. */
  publish: (channel: string, message: Record<string, unknown>) => Promise<Response>;
  close: () => Promise<void>;
}> {
  const accepted: AcceptedAblyRequest[] = [];
  const connections = new Map<string, Connection>();
  let serial = 0;

  function respond(response: ServerResponse, status: number, body: unknown): void {
    response.setHeader('content-type', 'application/json');
    if (status >= 400) {
      const error = (body as { error: AblyError }).error;
      response.setHeader('x-ably-errorcode', String(error.code));
      response.setHeader('x-ably-errormessage', error.message);
    }
    response.writeHead(status).end(JSON.stringify(body));
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const raw = await text(request);
    if (url.pathname === '/__accepted') return respond(response, 200, accepted);
    if (url.pathname === '/__connections' && request.method === 'POST') {
      const { clientId = null } = JSON.parse(raw || '{}') as { clientId?: string | null };
      serial += 1;
      const connection = { connectionId: `conn-${serial}`, clientId };
      const connectionKey = `stub${serial}!${crypto.randomUUID()}`;
      connections.set(connectionKey, connection);
      return respond(response, 201, { ...connection, connectionKey });
    }
    // The service time needs no credentials; ably-js asks for it with `queryTime`, as @ably/laravel-echo sets.
    if (url.pathname === '/time' && request.method === 'GET') return respond(response, 200, [Date.now()]);
    if (request.headers.authorization !== `Basic ${Buffer.from(key).toString('base64')}`) {
      return respond(response, 401, { error: ablyError(401, 40101, 'Invalid credentials') });
    }
    if (request.method !== 'POST') return respond(response, 405, { error: ablyError(405, 40500, 'Method not allowed') });
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return respond(response, 400, { error: ablyError(400, 40001, 'Invalid request body: not JSON') });
    }
    const record = (messages: AcceptedAblyMessage[]) => {
      realtime?.deliver(messages);
      accepted.push({
        method: request.method ?? 'POST',
        path: `${url.pathname}${url.search}`,
        headers: {
          authorization: request.headers.authorization ?? '',
          contentType: request.headers['content-type'] ?? '',
          ablyVersion: (request.headers['x-ably-version'] as string | undefined) ?? null,
        },
        body,
        messages,
      });
    };

    const single = /^\/channels\/([^/]+)\/messages$/.exec(url.pathname);
    if (single) {
      const channel = decodeURIComponent(single[1]!);
      try {
        const messages = listOf(body).map((message) => checkAblyMessage(channel, message, connections));
        record(messages);
        return respond(response, 201, { channel, messageId: `msg-${++serial}` });
      } catch (error) {
        if (error instanceof Refused) return respond(response, error.error.statusCode, { error: error.error });
        throw error;
      }
    }

    if (url.pathname === '/messages') {
      if (Buffer.byteLength(raw) > BATCH_BODY_BYTES) {
        return respond(response, 413, { error: ablyError(413, 40009, `Request body too large (at most ${BATCH_BODY_BYTES} bytes)`) });
      }
      const specs = listOf(body) as Array<{ channels?: unknown; messages?: unknown }>;
      const channelsOf = (spec: { channels?: unknown }) => listOf(spec.channels).map(String);
      const distinct = new Set(specs.flatMap(channelsOf));
      if (distinct.size > CHANNELS_PER_BATCH) {
        return respond(response, 400, {
          error: ablyError(400, 40003, `Too many channels: ${distinct.size} (at most ${CHANNELS_PER_BATCH})`),
        });
      }
      const published: AcceptedAblyMessage[] = [];
      const outcomes = specs.map((spec) =>
        channelsOf(spec).map((channel) => {
          try {
            const messages = listOf(spec.messages).map((message) => checkAblyMessage(channel, message, connections));
            // A spec's messages together must be within the message size limit.
            const total = messages.reduce(
              (sum, m) => sum + Buffer.byteLength(m.name ?? '') + Buffer.byteLength(m.clientId ?? '') + Buffer.byteLength(m.data ?? ''),
              0,
            );
            if (total > MESSAGE_BYTES)
              throw new Refused(ablyError(400, 40009, `Maximum message length exceeded: ${total} bytes in one spec`));
            published.push(...messages);
            return { channel, messageId: `msg-${++serial}` };
          } catch (error) {
            if (error instanceof Refused) return { channel, error: error.error };
            throw error;
          }
        }),
      );
      record(published);
      const version = Number(request.headers['x-ably-version'] ?? 1);
      if (version >= 2) {
        return respond(
          response,
          201,
          outcomes.map((results) => ({
            successCount: results.filter((r) => !('error' in r)).length,
            failureCount: results.filter((r) => 'error' in r).length,
            results,
          })),
        );
      }
      const flat = outcomes.flat();
      if (flat.some((r) => 'error' in r)) {
        return respond(response, 400, { error: { ...ablyError(400, 40020, 'Batched response includes errors'), batchResponse: flat } });
      }
      return respond(response, 201, flat);
    }
    return respond(response, 404, { error: ablyError(404, 40400, `Not found: ${url.pathname}`) });
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) respond(response, 500, { error: ablyError(500, 50000, String(error)) });
    });
  });
  const realtime = options.realtime ? serveAblyRealtime(server, key, connections) : null;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    accepted,
    publish: (channel, message) =>
      fetch(`http://127.0.0.1:${port}/channels/${encodeURIComponent(channel)}/messages`, {
        method: 'POST',
        headers: { Authorization: `Basic ${Buffer.from(key).toString('base64')}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(message),
      }),
    close: () => {
      realtime?.close();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
