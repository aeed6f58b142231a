-- What delivery reads to announce emails: each email with the start of its body, whitespace
-- collapsed (enough for the 140-character preview of email.received), and its sender's display
-- name. The Worker reads 100 rows at a time for a multi-row insert and up to REDELIVERY_BATCH for
-- the cron; whole bodies (up to 20,000 characters each) made that
-- read cost about 30 ms of Worker CPU per 100 rows, over the Free plan's 10 ms.
--
-- security_invoker: the caller's row level security applies, as on the tables. Only the Worker's
-- service role may read it; browsers read public.emails.

create view public.email_announcements
with (security_invoker = true)
as
select
  e.id,
  e.sender_id,
  e.recipient_id,
  e.subject,
  -- Collapsing only the first 2,000 characters keeps the view cheap; the preview could differ only
  -- for a body whose first 2,000 characters are nearly all whitespace.
  left(regexp_replace(left(e.body, 2000), '\s+', ' ', 'g'), 400) as body_start,
  e.created_at,
  e.read_at,
  e.delivered_at,
  e.delivery_attempts,
  coalesce(p.display_name, '') as sender_name
from public.emails e
left join public.profiles p on p.id = e.sender_id;

comment on view public.email_announcements is 'Emails as delivery announces them: body_start (the first 400 characters, whitespace collapsed) instead of body, and the sender''s display name.';

revoke all on public.email_announcements from public, anon, authenticated;
grant select on public.email_announcements to service_role;
