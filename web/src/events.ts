// TODO(lead): replace with functions/broadcasting/events.ts
// The broadcast events the web client listens to, as agreed in the shared contract (COMMON.md).
// The Worker defines them once with zod in functions/broadcasting/events.ts; until that lands in
// main these are the same names and payload shapes, written as plain types.

/** The channel every signed-in user joins to see who else is online. */
export const PRESENCE_CHANNEL = 'presence-inbox';

/** The private channel that carries one user's mailbox events. */
export function userChannel(userId: string): string {
  return `private-user.${userId}`;
}

/** Event names, as the Worker broadcasts them. */
export const EVENTS = {
  emailReceived: 'email.received',
  emailUpdated: 'email.updated',
  emailDeleted: 'email.deleted',
} as const;

/** `email.received`: a summary of a new email (the body stays on the server, under Pusher's 10 KB). */
export interface EmailReceived {
  id: string;
  sender_id: string;
  sender_name: string;
  subject: string;
  preview: string;
  created_at: string;
}

/** `email.updated`: the email's read state changed (read in another tab, for example). */
export interface EmailUpdated {
  id: string;
  read_at: string | null;
}

/** `email.deleted`: the email is gone. */
export interface EmailDeleted {
  id: string;
}

/** What a presence member shares with the others (`user_info`). */
export interface PresenceMemberInfo {
  name: string;
  role: 'admin' | 'user';
}
