-- Inserts are observed once per statement instead of once per row, so a bulk insert (an import,
-- a send to many recipients) costs a few webhooks instead of one per row. pg_net sends about 200
-- requests a second at most, and every request is a Worker invocation with its own database read;
-- 1,000 rows in one INSERT now make 10 webhooks.
--
--   a one-row INSERT: Supabase's payload plus the sender's display name, so the Worker can publish
--     without reading the row first:
--     {"type": "INSERT", "table": "emails", "schema": "public", "record": {...}, "old_record": null,
--      "sender": {"display_name": "..."}}
--   a larger INSERT: the new rows' ids, at most 100 per webhook, by created_at then id (one
--     statement's rows share created_at; rows may be large;
--     the Worker reads them in one request):
--     {"type": "INSERT", "table": "emails", "schema": "public", "record_ids": ["...", ...]}
--
-- Headers and signature are unchanged. Updates and deletes stay one webhook per row (Supabase's
-- payload); private.send_email_webhook() now queues through the same function as inserts.

create function private.queue_signed_webhook(payload jsonb)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  webhook_url text := private.webhook_setting('webhook_url');
  webhook_secret text := private.webhook_setting('webhook_secret');
  -- clock_timestamp, not now(): the request leaves after commit, which may be long after the
  -- transaction began.
  sent_at text := floor(extract(epoch from clock_timestamp()))::bigint::text;
begin
  if webhook_url is null or webhook_secret is null then
    raise warning 'tidings: webhook_url or webhook_secret is not set; % on %.% not sent (run "npm run db:webhook")',
      payload ->> 'type', payload ->> 'schema', payload ->> 'table';
    return false;
  end if;
  perform net.http_post(
    url := webhook_url,
    body := payload,
    params := '{}'::jsonb,
    headers := jsonb_build_object(
      'Content-Type', 'application/json',
      'X-Tidings-Timestamp', sent_at,
      'X-Tidings-Signature', private.sign_webhook(payload::text, sent_at, webhook_secret)
    ),
    timeout_milliseconds := 5000
  );
  return true;
end;
$$;

comment on function private.queue_signed_webhook(jsonb) is 'Queues one signed Database Webhook with net.http_post; false (with a warning) when the webhook URL or secret is not set.';

revoke all on function private.queue_signed_webhook(jsonb) from public, anon, authenticated, service_role;

create function private.send_email_insert_webhooks()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  -- Pusher's batch trigger takes 10 events; 100 rows keep a webhook's work to one read, ten
  -- publishes and one write, and its body far under the Worker's limit.
  ids_per_webhook constant int := 100;
  only_row public.emails;
  row_count int;
  ids jsonb;
begin
  select count(*) into row_count from inserted;
  if row_count = 0 then
    return null;
  end if;
  if row_count = 1 then
    select * into only_row from inserted;
    perform private.queue_signed_webhook(
      jsonb_build_object(
        'type', 'INSERT',
        'table', tg_table_name,
        'schema', tg_table_schema,
        'record', to_jsonb(only_row),
        'old_record', null,
        'sender', (select jsonb_build_object('display_name', p.display_name) from public.profiles p where p.id = only_row.sender_id)
      )
    );
    return null;
  end if;

  for ids in
    select jsonb_agg(numbered.id order by numbered.n)
    from (select i.id, row_number() over (order by i.created_at, i.id) - 1 as n from inserted i) as numbered
    group by numbered.n / ids_per_webhook
    order by min(numbered.n)
  loop
    -- Without a webhook URL or secret, one warning is enough.
    exit when not private.queue_signed_webhook(
      jsonb_build_object('type', 'INSERT', 'table', tg_table_name, 'schema', tg_table_schema, 'record_ids', ids)
    );
  end loop;
  return null;
end;
$$;

comment on function private.send_email_insert_webhooks() is 'The model observer for inserts: one signed Database Webhook per statement (ids in chunks of 100 when it inserted several rows).';

revoke all on function private.send_email_insert_webhooks() from public, anon, authenticated, service_role;

-- Updates and deletes: as before, through the one signing function.
create or replace function private.send_email_webhook()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- The payload of supabase_functions.http_request, Supabase's own Database Webhook.
  perform private.queue_signed_webhook(
    jsonb_build_object(
      'type', tg_op,
      'table', tg_table_name,
      'schema', tg_table_schema,
      'record', case when tg_op = 'DELETE' then null else to_jsonb(new) end,
      'old_record', case when tg_op = 'INSERT' then null else to_jsonb(old) end
    )
  );
  return null;
end;
$$;

drop trigger emails_webhook_on_insert_or_delete on public.emails;

create trigger emails_webhook_on_insert
  after insert on public.emails
  referencing new table as inserted
  for each statement execute function private.send_email_insert_webhooks();

create trigger emails_webhook_on_delete
  after delete on public.emails
  for each row execute function private.send_email_webhook();
