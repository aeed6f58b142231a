// The Worker's HTTP API (docs/http-api.md), with the signed-in user's Supabase access token as the
// bearer.

// The API's shapes come from the Worker's declarations (type-only), so they cannot drift.
import type { Announcement, DeliveryStatus, Email, Profile as User } from '../../functions/data/shapes.ts';

export type { Announcement, Email, User };

/** A seeded development account, listed on the sign-in page in development only. */
export interface DevUser {
  email: string;
  password: string;
  role: 'admin' | 'user';
}

/** GET /api/delivery: how the outbox is doing (admins). */
export type DeliveryReport = DeliveryStatus & { oldest_undelivered_age_seconds: number | null };

/** A page of the inbox, with the caller's unread count over the whole inbox (not just this page). */
export interface InboxPage {
  emails: Email[];
  unread_count: number;
}

/** GET /api/config: what the browser needs to reach Supabase Auth and the realtime server. */
export interface ClientConfig {
  pusher: { key: string; wsHost: string; wsPort: number; forceTLS: boolean; cluster: string };
  /** Present when the broadcaster is Ably: the page then connects with ably-js, here. */
  ably?: { host: string; port: number; tls: boolean };
  supabase: { url: string; anonKey: string };
  devUsers?: DevUser[];
}

/** One validation problem, normalised to the form field it belongs to. */
export interface FieldIssue {
  field: string;
  message: string;
  /** The offending value, when the server names one (an unknown recipient's id). */
  value?: string;
}

/** A non-2xx answer from the API, carrying the server's sentence and any field issues. */
export class ApiError extends Error {
  readonly status: number;
  readonly issues: FieldIssue[];
  constructor(status: number, message: string, issues: FieldIssue[] = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.issues = issues;
  }
}

/**
 * Turns the optional `issues` of an error body into field issues. It accepts the Worker's list
 * (`[{ path: 'recipient_ids.0', message }]`), zod's own (`path` as an array) and a
 * `{ field: message | message[] }` record, because the contract only promises "optional issues".
 */
export function normaliseIssues(issues: unknown): FieldIssue[] {
  if (Array.isArray(issues)) {
    return issues.flatMap((issue): FieldIssue[] => {
      if (!issue || typeof issue !== 'object') return [];
      const { path, message, field, value } = issue as { path?: unknown; message?: unknown; field?: unknown; value?: unknown };
      // The Worker sends `path` as a dotted string ("recipient_ids.0"); zod itself gives an array.
      const first = Array.isArray(path) ? path[0] : typeof path === 'string' ? path.split('.')[0] : field;
      const name = first === undefined || first === null ? '' : String(first);
      return [
        { field: name, message: typeof message === 'string' ? message : 'Invalid value.', ...(typeof value === 'string' ? { value } : {}) },
      ];
    });
  }
  if (issues && typeof issues === 'object') {
    return Object.entries(issues as Record<string, unknown>).flatMap(([field, value]) =>
      (Array.isArray(value) ? value : [value]).map((message) => ({ field, message: String(message) })),
    );
  }
  return [];
}

async function request<T>(path: string, init: RequestInit & { token?: string | null } = {}): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set('Accept', 'application/json');
  if (init.body !== undefined) headers.set('Content-Type', 'application/json');
  if (init.token) headers.set('Authorization', `Bearer ${init.token}`);
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers });
  } catch {
    throw new ApiError(0, 'The server cannot be reached. Check your connection.');
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // A proxy's HTML error page, for example: fall through to the generic message below.
  }
  if (!response.ok) {
    const { error, issues } = (body ?? {}) as { error?: unknown; issues?: unknown };
    const message = typeof error === 'string' ? error : `The server answered ${response.status}.`;
    throw new ApiError(response.status, message, normaliseIssues(issues));
  }
  return body as T;
}

/** GET /api/config (no sign-in needed). */
export function fetchConfig(): Promise<ClientConfig> {
  return request<ClientConfig>('/api/config');
}

/** The API calls a signed-in page makes; `token` is read on every call so refreshed tokens are used. */
export function createApi(token: () => string | null) {
  return {
    me: () => request<{ user: User }>('/api/me', { token: token() }).then((r) => r.user),
    users: () => request<{ users: User[] }>('/api/users', { token: token() }).then((r) => r.users),
    /**
     * Newest first; `after`/`before` are ISO `created_at` bounds (exclusive). `before_id` (with
     * `before`) continues below that email when others share its `created_at`.
     */
    emails: (query: { after?: string; before?: string; before_id?: string; limit?: number } = {}) => {
      const params = new URLSearchParams();
      if (query.after) params.set('after', query.after);
      if (query.before) params.set('before', query.before);
      if (query.before_id) params.set('before_id', query.before_id);
      if (query.limit) params.set('limit', String(query.limit));
      const suffix = params.size > 0 ? `?${params}` : '';
      return request<InboxPage>(`/api/emails${suffix}`, { token: token() });
    },
    /** Marks every unread email created at or before `upTo` read, in one statement; `read_at` undoes it. */
    markAllRead: (upTo: string) =>
      request<{ marked: number; read_at: string; unread_count: number }>('/api/emails/mark-all-read', {
        method: 'POST',
        token: token(),
        body: JSON.stringify({ up_to: upTo }),
      }),
    undoMarkAllRead: (readAt: string) =>
      request<{ unmarked: number; unread_count: number }>('/api/emails/mark-all-read/undo', {
        method: 'POST',
        token: token(),
        body: JSON.stringify({ read_at: readAt }),
      }),
    delivery: () => request<DeliveryReport>('/api/delivery', { token: token() }),
    /** Queues failed outbox entries again; the next cron run delivers them. */
    replay: (ids: number[]) =>
      request<{ replayed: number }>('/api/delivery/replay', { method: 'POST', token: token(), body: JSON.stringify({ ids }) }).then(
        (r) => r.replayed,
      ),
    markRead: (id: string) =>
      request<{ email: Email }>(`/api/emails/${encodeURIComponent(id)}/read`, { method: 'PATCH', token: token() }).then((r) => r.email),
    send: (input: { recipient_ids: string[]; subject: string; body: string }) =>
      request<{ emails: Email[] }>('/api/emails', { method: 'POST', token: token(), body: JSON.stringify(input) }).then((r) => r.emails),
    /** The newest announcements, newest first; `after` (exclusive) for a catch-up. */
    announcements: (after?: string) =>
      request<{ announcements: Announcement[] }>(`/api/announcements${after ? `?after=${encodeURIComponent(after)}` : ''}`, {
        token: token(),
      }).then((r) => r.announcements),
    announce: (input: { title: string; body: string }) =>
      request<{ announcement: Announcement }>('/api/announcements', { method: 'POST', token: token(), body: JSON.stringify(input) }).then(
        (r) => r.announcement,
      ),
  };
}

/** The signed-in page's API client. */
export type Api = ReturnType<typeof createApi>;
