/**
 * Tidings' broadcast events, defined once: name, channel and payload schema. The Worker publishes
 * them and the web client (web/) subscribes with them, so names and payloads cannot drift.
 *
 * This module must stay browser-safe: it imports `zod/mini` and nothing from the Worker or the
 * platform but the import-free pusher-rules.ts. `zod/mini` is zod 4's tree-shakable API (functions instead of methods, same engine and
 * types as `zod`), so the browser bundle carries only the validators used here: a few KB, where
 * `import { z } from 'zod'` would add hundreds.
 *
 * @example
 * // Worker
 * const message = EmailReceived.to({ recipient_id }, { id, sender_id, sender_name, subject, preview, created_at });
 * // Browser (pusher-js)
 * pusher.subscribe(EmailReceived.channel({ recipient_id: me })).bind(EmailReceived.name, (data: unknown) => {
 *   const result = EmailReceived.schema.safeParse(data);
 *   if (result.success) show(result.data);
 * });
 */
import * as z from 'zod/mini';
import { Limits } from './pusher-rules.ts';

/**
 * Text limits in characters, as the database's `char_length` checks count them (code points: an
 * emoji is one), shared by the events, the API's validation and the web client's forms.
 */
export const TextLimits = { subject: 200, emailBody: 20_000, senderName: 200, announcementTitle: 200, announcementBody: 2000 } as const;

/** Recipients of one `POST /api/emails`, shared by the API's validation and the compose form. */
export const MAX_RECIPIENTS = 100;

/** Characters as Postgres counts them (`char_length`): code points, where `.length` counts UTF-16 units. */
export function characters(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** A string of `min` to `max` characters, counted as the database counts them. */
function text(min: number, max: number) {
  return z.string().check(
    z.refine((value: string) => {
      const length = characters(value);
      return length >= min && length <= max;
    }, `between ${min} and ${max} characters`),
  );
}

/** Pusher refuses event data over 10 KB; our summaries stay far below it. */
export const MAX_EVENT_DATA_BYTES = Limits.eventDataBytes;

/** How many characters of the body an `email.received` summary carries. */
export const PREVIEW_LENGTH = 140;

/** A broadcast event's definition: what Laravel spreads over `broadcastAs`, `broadcastOn` and `broadcastWith`. */
export interface EventDefinition<Name extends string, Payload, Target> {
  /** The wire name (`broadcastAs`); Laravel Echo listens for it with a leading dot: `.email.received`. */
  readonly name: Name;
  /** The payload schema; `schema.safeParse(data)` on the client gives a typed payload or the reason it has none. */
  readonly schema: z.ZodMiniType<Payload>;
  /** The channel the event goes to (`broadcastOn`), full Pusher name with its prefix. */
  channel(target: Target): string;
  /** Builds a validated message for `target`; throws when the payload breaks the schema or the size limit. */
  to(target: Target, payload: Payload): BroadcastMessage<Payload>;
}

/** An event ready to publish: what every broadcaster accepts. */
export interface BroadcastMessage<Payload = unknown> {
  readonly event: EventDefinition<string, Payload, never>;
  readonly channels: string[];
  readonly data: Payload;
}

/** Defines an event; see the examples at the top of this module. */
export function defineEvent<Name extends string, Schema extends z.ZodMiniType, Target>(definition: {
  name: Name;
  schema: Schema;
  channel: (target: Target) => string;
}): EventDefinition<Name, z.output<Schema>, Target> {
  const event: EventDefinition<Name, z.output<Schema>, Target> = {
    name: definition.name,
    schema: definition.schema as z.ZodMiniType<z.output<Schema>>,
    channel: definition.channel,
    to(target, payload) {
      const result = definition.schema.safeParse(payload);
      if (!result.success) {
        throw new Error(`${definition.name} payload does not match its schema: ${describeIssues(result.error.issues)}`);
      }
      const data = result.data as z.output<Schema>;
      const bytes = new TextEncoder().encode(JSON.stringify(data)).length;
      if (bytes > MAX_EVENT_DATA_BYTES) {
        throw new Error(`${definition.name} payload is ${bytes} bytes; Pusher refuses event data over ${MAX_EVENT_DATA_BYTES} bytes`);
      }
      return { event: event as EventDefinition<string, z.output<Schema>, never>, channels: [definition.channel(target)], data };
    },
  };
  return event;
}

/** `subject (too_small), id (invalid_format)`: readable without zod's locale, which zod/mini leaves out. */
function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => `${issue.path.map(String).join('.') || '(root)'} (${issue.code === 'custom' ? issue.message : issue.code})`)
    .join(', ');
}

/** Database ids: any 8-4-4-4-12 hex id (seeds often use non-v4 ids such as 00000000-...-0001). */
const id = z.guid();
/** Timestamps as Postgres/PostgREST print them (`2026-11-28T02:01:15.123456+00:00`); kept verbatim. */
const timestamp = z.string().check(z.refine((value) => !Number.isNaN(Date.parse(value)), { message: 'Invalid timestamp' }));

/** Who an email event is for: the recipient's private channel. */
export interface EmailTarget {
  recipient_id: string;
}

/** `private-user.{id}`: a user's own channel (the rule in channels.ts lets only that user in). */
export function userChannel(userId: string): string {
  return `private-user.${userId}`;
}

/**
 * `presence-admins`: the admins who are online, seen by the admins; member info is `{ name, role }`.
 * Only admins join it: a presence channel holds at most 100 members, while any number of users
 * can be online.
 */
export const ADMIN_PRESENCE_CHANNEL = 'presence-admins';

/** A new email for the recipient: a summary, not the email (fetch the rest with GET /api/emails). */
export const EmailReceived = defineEvent({
  name: 'email.received',
  channel: (email: EmailTarget) => userChannel(email.recipient_id),
  schema: z.object({
    id,
    sender_id: id,
    sender_name: text(0, TextLimits.senderName),
    subject: text(1, TextLimits.subject),
    preview: z.string().check(z.maxLength(PREVIEW_LENGTH + 1)),
    created_at: timestamp,
  }),
});

/** An email's read state changed, so the recipient's other tabs stay in sync. */
export const EmailUpdated = defineEvent({
  name: 'email.updated',
  channel: (email: EmailTarget) => userChannel(email.recipient_id),
  schema: z.object({ id, read_at: z.nullable(timestamp) }),
});

/** At most this many emails in one `emails.updated` (about 8 KB, under Pusher's 10 KB). */
export const MAX_EMAILS_PER_UPDATE = 100;

/**
 * Several emails' read states changed in one statement (mark all read, or an UPDATE from psql):
 * one event for up to {@link MAX_EMAILS_PER_UPDATE} of them instead of an `email.updated` each.
 */
export const EmailsUpdated = defineEvent({
  name: 'emails.updated',
  channel: (email: EmailTarget) => userChannel(email.recipient_id),
  schema: z.object({
    emails: z.array(z.object({ id, read_at: z.nullable(timestamp) })).check(z.minLength(1), z.maxLength(MAX_EMAILS_PER_UPDATE)),
  }),
});

/** An email was deleted. */
export const EmailDeleted = defineEvent({
  name: 'email.deleted',
  channel: (email: EmailTarget) => userChannel(email.recipient_id),
  schema: z.object({ id }),
});

/** `private-announcements`: admin announcements, which any signed-in user may hear (see channel rules). */
export const ANNOUNCEMENTS_CHANNEL = 'private-announcements';

/** An admin's announcement to every signed-in user, whole (title and body are short). */
export const AnnouncementCreated = defineEvent({
  name: 'announcement.created',
  channel: () => ANNOUNCEMENTS_CHANNEL,
  schema: z.object({
    id,
    sender_id: id,
    title: text(1, TextLimits.announcementTitle),
    body: text(0, TextLimits.announcementBody),
    created_at: timestamp,
  }),
});

export type EmailReceivedPayload = z.output<typeof EmailReceived.schema>;
export type EmailUpdatedPayload = z.output<typeof EmailUpdated.schema>;
export type EmailsUpdatedPayload = z.output<typeof EmailsUpdated.schema>;
export type EmailDeletedPayload = z.output<typeof EmailDeleted.schema>;
export type AnnouncementPayload = z.output<typeof AnnouncementCreated.schema>;

/**
 * The first {@link PREVIEW_LENGTH} characters of a body, whitespace collapsed, with an ellipsis when
 * cut. Counts code points so an emoji is never split in half.
 */
export function previewOf(body: string): string {
  const text = [...body.replace(/\s+/g, ' ').trim()];
  return text.length > PREVIEW_LENGTH ? `${text.slice(0, PREVIEW_LENGTH).join('')}…` : text.join('');
}
