/**
 * The `ably` broadcaster: Ably's REST API over `fetch`, publishing what Laravel's Ably broadcaster
 * (ably/laravel-broadcaster, src/AblyBroadcaster.php `broadcast` and `buildAblyMessage`) publishes.
 *
 * Why not the official `ably` SDK: it runs in workerd (its browser build, checked), but it adds
 * 475 KiB to the Worker (88 KiB gzipped, a quarter of the bundle; measured with
 * `wrangler deploy --dry-run --outdir`) for what is one documented POST per publish.
 *
 * The REST API, as documented:
 * - `POST /channels/{channel}/messages` publishes a message on one channel; `POST /messages` takes
 *   BatchSpecs `{channels, messages}` (at most 100 channels and 2 MiB per request, each spec's messages
 *   within the message size limit) and runs them in parallel (https://ably.com/docs/rest/batch).
 *   Parallel specs would reorder one channel's messages, so a request holds at most one spec per channel.
 * - Basic auth with the API key (https://ably.com/docs/auth/basic); `X-Ably-Version` as ably-js 2.28.0
 *   sends it, under which a batch answers one `{successCount, failureCount, results}` per spec; the
 *   older form (a 400 with code 40020 and `batchResponse`) is read too.
 * - Errors: `{"error": {"message", "code", "statusCode", "href"}}` and the `x-ably-errorcode` /
 *   `x-ably-errormessage` headers (ably/open-specs, definitions/platform-v1.yaml).
 */
import { ablyKey, type Config } from '../../config.ts';
import { errorMessage } from '../../log.ts';
import { AblyLimits, ablyChannelName, decodeAblySocketId } from '../ably-rules.ts';
import { BatchPublishError, type Broadcaster, BroadcastRefused, type PublishRequest } from '../broadcaster.ts';
import { byteLength, channelNameProblem, eventNameProblem } from '../pusher-rules.ts';

/** The protocol version ably-js 2.28.0 announces. */
const ABLY_VERSION = '6';

/**
 * A message as the REST API takes it. The event's JSON text goes as it is with the encoding `json`,
 * as ably-js 2.28.0 encodes an object it publishes over REST, so subscribers receive an object, as
 * they do from Laravel's broadcaster (ably-php sends its payload array as `json/utf-8`; ably-js's
 * decoder expects binary data at a `utf-8` step, so the driver sends the `json` ably-js itself sends).
 * `connectionKey` (and the connection's `clientId`) publish on behalf of the sender's connection:
 * with `echoMessages: false`, as @ably/laravel-echo connects, it does not receive its own event.
 */
export interface AblyMessage {
  name: string;
  data: string;
  encoding: 'json';
  connectionKey?: string;
  clientId?: string;
}

/** A batch publish body entry (a BatchSpec). */
export interface AblyBatchSpec {
  channels: string[];
  messages: AblyMessage[];
}

/** What Ably answered. */
export interface AblyResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/** POSTs a JSON body to a REST API path; throws a BroadcastRefused with no status when Ably cannot be reached. */
export type AblyPost = (path: string, body: unknown) => Promise<AblyResponse>;

/** Ably's REST API for this app's settings (ABLY_KEY, ABLY_HOST, ABLY_PORT, ABLY_SCHEME). */
export function ablyRest(config: Config): AblyPost {
  const { host, port, useTLS } = config.ably;
  const key = ablyKey(config);
  const base = `${useTLS ? 'https' : 'http'}://${host}:${port}`;
  const authorization = `Basic ${btoa(`${key.name}:${key.secret}`)}`;
  return async (path, body) => {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: {
          Authorization: authorization,
          'Content-Type': 'application/json',
          Accept: 'application/json',
          'X-Ably-Version': ABLY_VERSION,
        },
        body: JSON.stringify(body),
      });
    } catch (error) {
      // The message names the host only: the URL carries no secret, and the headers are not quoted.
      throw new BroadcastRefused(`Ably could not be reached at ${host}: ${errorMessage(error)}`, null, {
        cause: error,
      });
    }
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    return { status: response.status, headers: response.headers, body: parsed };
  };
}

interface AblyError {
  message?: unknown;
  code?: unknown;
  statusCode?: unknown;
}

function errorOf(body: unknown): AblyError {
  if (typeof body !== 'object' || body === null) return {};
  const { error } = body as { error?: unknown };
  return typeof error === 'object' && error !== null ? (error as AblyError) : {};
}

/** The refusal for a response that is not a 2xx: status, Ably's error code and message. */
function refused(response: AblyResponse, what: string): BroadcastRefused {
  const error = errorOf(response.body);
  const code = error.code ?? response.headers.get('x-ably-errorcode');
  const message = error.message ?? response.headers.get('x-ably-errormessage') ?? (typeof response.body === 'string' ? response.body : '');
  return new BroadcastRefused(
    `Ably refused ${what}: ${response.status}${code ? ` (${code})` : ''} ${String(message)}`.trim(),
    response.status,
  );
}

/** Checks an event against Ably's rules before anything is sent; the message for it otherwise. */
function messageFor({ channels, name, data, socketId }: PublishRequest): AblyMessage {
  const nameProblem = eventNameProblem(name);
  if (nameProblem) throw new BroadcastRefused(nameProblem, 400);
  if (channels.length === 0) throw new BroadcastRefused(`Invalid channels for '${name}': expected at least one channel name`, 400);
  for (const channel of channels) {
    const problem = channelNameProblem(channel);
    if (problem) throw new BroadcastRefused(problem, 400);
  }
  try {
    JSON.parse(data);
  } catch {
    throw new BroadcastRefused(`Invalid data for event '${name}': expected JSON text`, 400);
  }
  // A socket id of another kind (pusher-js's `123.456`) names no Ably connection: publish to everyone.
  const sender = socketId ? decodeAblySocketId(socketId) : null;
  const message: AblyMessage = {
    name,
    data,
    encoding: 'json',
    ...(sender ? { connectionKey: sender.connectionKey } : {}),
    ...(sender?.clientId ? { clientId: sender.clientId } : {}),
  };
  // Counted as ably-js counts a message against the limit: name, clientId and data.
  const size = byteLength(name) + byteLength(message.clientId ?? '') + byteLength(data);
  if (size > AblyLimits.messageBytes) {
    throw new BroadcastRefused(`Event too large for Ably: ${size} bytes (at most ${AblyLimits.messageBytes})`, 413);
  }
  return message;
}

function messageSize(message: AblyMessage): number {
  return byteLength(message.name) + byteLength(message.clientId ?? '') + byteLength(message.data);
}

/** One message on one channel, from request `request`. */
interface Delivery {
  request: number;
  message: AblyMessage;
}

/**
 * The batch requests for `queues` (each channel's deliveries in order): each request has at most
 * 100 channels, one spec per channel, each spec's messages within the message size limit, and a
 * body within 2 MiB. A channel's later messages wait for a later request.
 */
function* batchRequests(queues: Map<string, Delivery[]>): Generator<Array<{ channel: string; deliveries: Delivery[] }>> {
  while ([...queues.values()].some((queue) => queue.length > 0)) {
    const request: Array<{ channel: string; deliveries: Delivery[] }> = [];
    let bodyBytes = 2;
    for (const [channel, queue] of queues) {
      if (queue.length === 0) continue;
      if (request.length === AblyLimits.channelsPerBatch) break;
      const deliveries: Delivery[] = [];
      let specBytes = 0;
      let specBody = byteLength(JSON.stringify({ channels: [channel], messages: [] })) + 1;
      for (const delivery of queue) {
        const size = messageSize(delivery.message);
        const encoded = byteLength(JSON.stringify(delivery.message)) + 1;
        if (deliveries.length > 0 && specBytes + size > AblyLimits.messageBytes) break;
        // Anything fits an empty request: one message is within 64 KiB.
        const first = deliveries.length === 0 && request.length === 0;
        if (!first && bodyBytes + specBody + encoded > AblyLimits.batchBodyBytes) break;
        deliveries.push(delivery);
        specBytes += size;
        specBody += encoded;
      }
      if (deliveries.length === 0) break;
      queue.splice(0, deliveries.length);
      request.push({ channel, deliveries });
      bodyBytes += specBody;
    }
    yield request;
  }
}

/** The channels a batch answer reports as failed, with the first failure's reason; throws when the whole request failed. */
function batchFailures(response: AblyResponse, what: string): { channels: Set<string>; first: BroadcastRefused | null } {
  let results: unknown;
  if (response.status >= 200 && response.status < 300) {
    results = response.body;
  } else {
    const error = errorOf(response.body) as AblyError & { batchResponse?: unknown };
    // Before protocol version 2, a partial failure is a 400 with code 40020 and the results in `batchResponse`.
    if (response.status === 400 && error.code === 40020 && Array.isArray(error.batchResponse)) results = error.batchResponse;
    else throw refused(response, what);
  }
  const channels = new Set<string>();
  let first: BroadcastRefused | null = null;
  const flat = (Array.isArray(results) ? results : [results]).flatMap((item: unknown) => {
    const nested = (item as { results?: unknown } | null)?.results;
    return Array.isArray(nested) ? nested : [item];
  });
  for (const result of flat) {
    const { channel, error } = (result ?? {}) as { channel?: unknown; error?: AblyError };
    if (typeof channel !== 'string' || !error) continue;
    channels.add(channel);
    const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
    first ??= new BroadcastRefused(
      `Ably refused ${what} on ${channel}: ${status}${error.code ? ` (${error.code})` : ''} ${String(error.message ?? '')}`.trim(),
      status,
    );
  }
  return { channels, first };
}

/** `ably`: publishes through Ably's REST API (see the top of this file for the documentation it follows). */
export class AblyBroadcaster implements Broadcaster {
  readonly #post: AblyPost;
  constructor(post: AblyPost) {
    this.#post = post;
  }

  /** One channel: `POST /channels/{channel}/messages`; several: one batch publish. */
  async publish(request: PublishRequest): Promise<void> {
    const message = messageFor(request);
    const channels = [...new Set(request.channels)];
    if (channels.length === 1) {
      const channel = ablyChannelName(channels[0]!);
      const response = await this.#post(`/channels/${encodeURIComponent(channel)}/messages`, message);
      if (response.status < 200 || response.status >= 300) throw refused(response, `${request.name} on ${channel}`);
      return;
    }
    try {
      await this.#publishAll([{ ...request, channels }], [message]);
    } catch (error) {
      throw error instanceof BatchPublishError ? error.cause : error;
    }
  }

  /**
   * Batch publishes (`POST /messages`), one spec per channel with its messages in order. The events
   * before the first bad one are published; the bad one is refused, so the caller knows which.
   * @throws BatchPublishError counting the leading requests whose every channel was published.
   */
  async publishBatch(requests: PublishRequest[]): Promise<void> {
    if (requests.length === 0) return;
    const messages: AblyMessage[] = [];
    for (const request of requests) {
      try {
        messages.push(messageFor(request));
      } catch (error) {
        if (messages.length > 0) await this.#publishAll(requests.slice(0, messages.length), messages);
        throw new BatchPublishError(messages.length, error);
      }
    }
    await this.#publishAll(requests, messages);
  }

  async #publishAll(requests: PublishRequest[], messages: AblyMessage[]): Promise<void> {
    const queues = new Map<string, Delivery[]>();
    const remaining = requests.map((request) => new Set(request.channels).size);
    for (const [index, request] of requests.entries()) {
      for (const channel of new Set(request.channels)) {
        const name = ablyChannelName(channel);
        const queue = queues.get(name) ?? [];
        queue.push({ request: index, message: messages[index]! });
        queues.set(name, queue);
      }
    }
    const publishedPrefix = () => {
      const first = remaining.findIndex((count) => count > 0);
      return first === -1 ? requests.length : first;
    };
    for (const specs of batchRequests(queues)) {
      const count = specs.reduce((sum, spec) => sum + spec.deliveries.length, 0);
      const what = `a batch of ${count} messages on ${specs.length} channels`;
      let failures: ReturnType<typeof batchFailures>;
      try {
        const response = await this.#post(
          '/messages',
          specs.map(
            ({ channel, deliveries }) => ({ channels: [channel], messages: deliveries.map((d) => d.message) }) satisfies AblyBatchSpec,
          ),
        );
        failures = batchFailures(response, what);
      } catch (error) {
        throw new BatchPublishError(publishedPrefix(), error);
      }
      for (const { channel, deliveries } of specs) {
        if (failures.channels.has(channel)) continue;
        for (const delivery of deliveries) remaining[delivery.request]!--;
      }
      if (failures.first) throw new BatchPublishError(publishedPrefix(), failures.first);
    }
  }
}
