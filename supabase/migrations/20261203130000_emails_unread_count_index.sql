-- The inbox's unread count (GET /api/emails answers it with every page) is one index-only scan:
-- a partial index holding only unread emails, by recipient. It stays small, since most mail gets
-- read, and the count costs the same for an inbox of 10 emails or 10,000.

create index emails_unread_by_recipient on public.emails (recipient_id) where read_at is null;

comment on index public.emails_unread_by_recipient is 'Unread emails per recipient: the unread count of GET /api/emails.';
