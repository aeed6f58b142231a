// TODO(lead): replace with functions/broadcasting/events.ts
// The broadcast events the web client listens to, as the shared contract (COMMON.md) defines them.
// The Worker defines them once with zod in functions/broadcasting/events.ts; until that module is in
// main, this file mirrors its exports (same names, same shapes), so switching is a change of import
// path in realtime.ts and mailbox.ts, after which the client validates with the Worker's own schemas.
// It is written without zod on purpose: `import { z } from 'zod'` puts all of zod v4 (about 450 KB
// minified) in the browser bundle; named imports (`import { object, string } from 'zod'`) about 85 KB.
/** The subset of a zod schema the client uses, so the Worker's zod schemas drop in unchanged. */
interface Schema<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: Error };
}

/** A schema for a flat object whose fields are all strings (or null where allowed). */
function strings<T>(fields: Record<keyof T & string, 'string' | 'timestamp' | 'timestamp|null'>): Schema<T> {
  return {
    safeParse(data) {
      if (!data || typeof data !== 'object') return { success: false, error: new Error('expected an object') };
      for (const [name, kind] of Object.entries(fields)) {
        const value = (data as Record<string, unknown>)[name];
        if (value === null && kind === 'timestamp|null') continue;
        if (typeof value !== 'string') return { success: false, error: new Error(`${name}: expected a string`) };
        if (kind !== 'string' && Number.isNaN(Date.parse(value))) return { success: false, error: new Error(`${name}: invalid timestamp`) };
      }
      return { success: true, data: data as T };
    },
  };
}

/** How many characters of the body an `email.received` summary carries. */
export const PREVIEW_LENGTH = 140;

/** `private-user.{id}`: a user's own mailbox channel. */
export function userChannel(userId: string): string {
  return `private-user.${userId}`;
}

/** `presence-inbox`: everyone signed in; member info is `{ name, role }`. */
export const INBOX_PRESENCE_CHANNEL = 'presence-inbox';

export interface EmailReceivedPayload {
  id: string;
  sender_id: string;
  sender_name: string;
  subject: string;
  preview: string;
  created_at: string;
}
export interface EmailUpdatedPayload {
  id: string;
  read_at: string | null;
}
export interface EmailDeletedPayload {
  id: string;
}

/** A new email for the recipient: a summary (the body comes from the API). */
export const EmailReceived = {
  name: 'email.received',
  schema: strings<EmailReceivedPayload>({ id: 'string', sender_id: 'string', sender_name: 'string', subject: 'string', preview: 'string', created_at: 'timestamp' }),
} as const;

/** An email's read state changed (read in another tab, for example). */
export const EmailUpdated = {
  name: 'email.updated',
  schema: strings<EmailUpdatedPayload>({ id: 'string', read_at: 'timestamp|null' }),
} as const;

/** An email was deleted. */
export const EmailDeleted = {
  name: 'email.deleted',
  schema: strings<EmailDeletedPayload>({ id: 'string' }),
} as const;

/** The first PREVIEW_LENGTH characters of a body, whitespace collapsed, with an ellipsis when cut. */
export function previewOf(body: string): string {
  const text = [...body.replace(/\s+/g, ' ').trim()];
  return text.length > PREVIEW_LENGTH ? `${text.slice(0, PREVIEW_LENGTH).join('')}…` : text.join('');
}
