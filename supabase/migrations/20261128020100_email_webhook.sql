-- The model observer: every insert, delete, and user-visible update of public.emails is sent to
-- the Worker as a Supabase Database Webhook through pg_net, signed with HMAC-SHA256 in SQL.
--
--   POST <webhook_url>
--   Content-Type: application/json
--   X-Tidings-Timestamp: <unix seconds>
--   X-Tidings-Signature: v1=<hex hmac_sha256(webhook_secret, timestamp || '.' || body)>
--   {"type": "INSERT", "table": "emails", "schema": "public", "record": {...}, "old_record": null}
--
-- The URL and secret come from Supabase Vault (names tidings_webhook_url, tidings_webhook_secret)
-- when it is installed, else from private.settings (see `npm run db:webhook`). Without both, rows are
-- still written and the redelivery cron publishes them later.
--
-- On Supabase, pg_net provides the `net` schema; the offline local Supabase provides a compatible
-- one before migrations run. This migration only enables pg_net where it is available.

do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_net')
     and not exists (select 1 from pg_namespace where nspname = 'net') then
    create extension if not exists pg_net with schema extensions;
  end if;
end;
$$;

create table private.settings (
  name text primary key,
  value text not null,
  updated_at timestamptz not null default now()
);

comment on table private.settings is 'Private server settings (webhook URL and secret). Never exposed through the API.';

alter table private.settings enable row level security;
revoke all on table private.settings from public, anon, authenticated, service_role;

-- Vault first (encrypted at rest on Supabase), then private.settings.
create function private.webhook_setting(setting_name text)
returns text
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  found_value text;
begin
  if to_regclass('vault.decrypted_secrets') is not null then
    execute 'select decrypted_secret from vault.decrypted_secrets where name = $1 limit 1'
      into found_value
      using 'tidings_' || setting_name;
  end if;
  if found_value is null then
    select s.value into found_value from private.settings s where s.name = setting_name;
  end if;
  return found_value;
end;
$$;

comment on function private.webhook_setting(text) is 'The webhook_url or webhook_secret setting, from Vault when present, else private.settings.';

revoke all on function private.webhook_setting(text) from public, anon, authenticated, service_role;

-- The signature covers exactly the bytes pg_net sends: net.http_post sends convert_to(body::text, 'UTF8').
create function private.sign_webhook(body text, sent_at text, secret text)
returns text
language sql
immutable
set search_path = ''
as $$
  select 'v1=' || encode(
    extensions.hmac(convert_to(sent_at || '.' || body, 'UTF8'), convert_to(secret, 'UTF8'), 'sha256'),
    'hex'
  );
$$;

comment on function private.sign_webhook(text, text, text) is 'X-Tidings-Signature for a webhook body sent at a unix time.';

revoke all on function private.sign_webhook(text, text, text) from public, anon, authenticated;

create function private.send_email_webhook()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  webhook_url text := private.webhook_setting('webhook_url');
  webhook_secret text := private.webhook_setting('webhook_secret');
  payload jsonb;
  sent_at text;
begin
  if webhook_url is null or webhook_secret is null then
    raise warning 'tidings: webhook_url or webhook_secret is not set; % on %.% not sent (run "npm run db:webhook")',
      tg_op, tg_table_schema, tg_table_name;
    return null;
  end if;

  -- The payload of supabase_functions.http_request, Supabase's own Database Webhook.
  payload := jsonb_build_object(
    'type', tg_op,
    'table', tg_table_name,
    'schema', tg_table_schema,
    'record', case when tg_op = 'DELETE' then null else to_jsonb(new) end,
    'old_record', case when tg_op = 'INSERT' then null else to_jsonb(old) end
  );
  -- clock_timestamp, not now(): the request leaves after commit, which may be long after the
  -- transaction began.
  sent_at := floor(extract(epoch from clock_timestamp()))::bigint::text;

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
  return null;
end;
$$;

comment on function private.send_email_webhook() is 'The model observer: queues a signed Database Webhook for a change to public.emails.';

revoke all on function private.send_email_webhook() from public, anon, authenticated;

create trigger emails_webhook_on_insert_or_delete
  after insert or delete on public.emails
  for each row execute function private.send_email_webhook();

-- Only user-visible columns: recording a delivery (delivered_at, delivery_attempts) must not loop.
create trigger emails_webhook_on_update
  after update of read_at, subject, body on public.emails
  for each row
  when (
    old.read_at is distinct from new.read_at
    or old.subject is distinct from new.subject
    or old.body is distinct from new.body
  )
  execute function private.send_email_webhook();
