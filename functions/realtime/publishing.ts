import { byteLength, channelNameProblem, eventNameProblem, Limits, socketIdProblem } from './protocol.ts';

/** One event to publish, as the `realtime` broadcaster and the HTTP API hand it to the server. */
export interface PublishRequest {
  channels: string[];
  name: string;
  /** The event's data as sent to clients: a string (usually JSON), at most 10 KB. */
  data: string;
  /** A socket that must not receive the event (the sender's own, as in Laravel's `toOthers()`). */
  socketId?: string;
}

/** A publish that breaks a rule; `status` is what the HTTP API answers (400 or 413). */
export class PublishError extends Error {
  override name = 'PublishError';
  readonly status: 400 | 413;

  constructor(status: 400 | 413, message: string) {
    super(message);
    this.status = status;
  }
}

/** Checks a publish request against Pusher's limits and returns it typed; throws a PublishError quoting the problem. */
export function validatePublish(request: unknown): PublishRequest {
  if (typeof request !== 'object' || request === null) throw new PublishError(400, 'Invalid event: expected an object with channels, name and data');
  const { channels, name, data, socketId } = request as Record<string, unknown>;
  const nameProblem = eventNameProblem(name);
  if (nameProblem) throw new PublishError(400, nameProblem);
  if (typeof data !== 'string') throw new PublishError(400, `Invalid data for event '${String(name)}': expected a string (JSON-encode objects)`);
  const size = byteLength(data);
  if (size > Limits.eventDataBytes) {
    throw new PublishError(413, `Event data too large: ${size} bytes (at most ${Limits.eventDataBytes})`);
  }
  if (!Array.isArray(channels) || channels.length === 0) throw new PublishError(400, 'Invalid channels: expected 1 to 100 channel names');
  if (channels.length > Limits.channelsPerEvent) {
    throw new PublishError(400, `Too many channels: ${channels.length} (at most ${Limits.channelsPerEvent} per event)`);
  }
  for (const channel of channels) {
    const problem = channelNameProblem(channel, true);
    if (problem) throw new PublishError(400, problem);
  }
  if (socketId !== undefined && socketId !== null) {
    const problem = socketIdProblem(socketId);
    if (problem) throw new PublishError(400, problem);
  }
  return { channels: [...new Set(channels as string[])], name: name as string, data, ...(typeof socketId === 'string' ? { socketId } : {}) };
}
