/**
 * The API's row shapes, shared with web/ (type-only, no imports, browser-safe), so a change on
 * either side fails the type check instead of drifting.
 */

/** An email as the API returns it. */
export interface Email {
  id: string;
  sender_id: string;
  sender_name: string;
  recipient_id: string;
  subject: string;
  body: string;
  created_at: string;
  read_at: string | null;
}

/** A user's public profile (the API's `user` shape). */
export interface Profile {
  id: string;
  email: string;
  display_name: string;
  role: 'admin' | 'user';
}

/** An admin announcement as the API returns it. */
export interface Announcement {
  id: string;
  sender_id: string;
  title: string;
  body: string;
  created_at: string;
}
