-- What a Supabase project has before any migration runs, for the offline local Supabase:
-- its roles, the `extensions` schema, a minimal `auth` schema (users, identities, sessions,
-- refresh tokens, auth.uid()/jwt()/role()), a pg_net-compatible `net` schema, and the CLI's
-- migration history. Idempotent: it runs at every start. Never run against a real Supabase project.

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  -- The role the API connects as; it only ever becomes one of the three above (set local role).
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit password 'postgres';
  end if;
end;
$$;

grant anon, authenticated, service_role to authenticator;

create schema if not exists extensions;
grant usage on schema extensions to public;
create extension if not exists pgcrypto with schema extensions;

-- Supabase's default privileges: tables in public are granted to the API roles; RLS decides rows.
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;

-- auth ----------------------------------------------------------------------------------------

create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create table if not exists auth.users (
  instance_id uuid,
  id uuid primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  invited_at timestamptz,
  confirmation_token varchar(255),
  confirmation_sent_at timestamptz,
  recovery_token varchar(255),
  recovery_sent_at timestamptz,
  email_change_token_new varchar(255),
  email_change varchar(255),
  email_change_sent_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin boolean,
  created_at timestamptz,
  updated_at timestamptz,
  phone text default null,
  phone_confirmed_at timestamptz,
  banned_until timestamptz,
  deleted_at timestamptz,
  is_sso_user boolean not null default false,
  is_anonymous boolean not null default false
);
create unique index if not exists users_email_key on auth.users (lower(email)) where is_sso_user = false;
comment on table auth.users is 'Auth: Stores user login data within a secure schema.';

create table if not exists auth.identities (
  id uuid primary key default gen_random_uuid(),
  provider_id text not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  identity_data jsonb not null,
  provider text not null,
  last_sign_in_at timestamptz,
  created_at timestamptz,
  updated_at timestamptz,
  unique (provider_id, provider)
);

create table if not exists auth.sessions (
  id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz,
  updated_at timestamptz,
  user_agent text
);

create table if not exists auth.refresh_tokens (
  id bigserial primary key,
  token varchar(255) unique,
  user_id varchar(255),
  revoked boolean,
  created_at timestamptz,
  updated_at timestamptz,
  parent varchar(255),
  session_id uuid references auth.sessions (id) on delete cascade
);

create or replace function auth.jwt() returns jsonb language sql stable as $$
  select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
$$;

create or replace function auth.uid() returns uuid language sql stable as $$
  select nullif(
    coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
             nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'),
    '')::uuid
$$;

create or replace function auth.role() returns text language sql stable as $$
  select coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                  nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
$$;

create or replace function auth.email() returns text language sql stable as $$
  select coalesce(nullif(current_setting('request.jwt.claim.email', true), ''),
                  nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
$$;

grant execute on function auth.jwt(), auth.uid(), auth.role(), auth.email() to anon, authenticated, service_role;

-- net: pg_net's public interface (same names, signatures and tables), served by a Node worker ----

do $$
begin
  -- A real pg_net, where installed, is the real thing: leave it alone.
  if exists (select 1 from pg_extension where extname = 'pg_net') then
    return;
  end if;

  create schema if not exists net;

  if not exists (select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace
                 where n.nspname = 'net' and t.typname = 'http_method') then
    create domain net.http_method as text
      check (value ilike 'get' or value ilike 'post' or value ilike 'delete');
    create type net.request_status as enum ('PENDING', 'SUCCESS', 'ERROR');
    create type net.http_response as (status_code integer, headers jsonb, body text);
    create type net.http_response_result as (status net.request_status, message text, response net.http_response);
  end if;

  -- Unlogged, as in pg_net: a crash empties the queue (delivery is at most once).
  create unlogged table if not exists net.http_request_queue (
    id bigserial,
    method net.http_method not null,
    url text not null,
    headers jsonb,
    body bytea,
    timeout_milliseconds int not null
  );

  create unlogged table if not exists net._http_response (
    id bigint,
    status_code integer,
    content_type text,
    headers jsonb,
    content text,
    timed_out bool,
    error_msg text,
    created timestamptz not null default now()
  );
  create index if not exists _http_response_created_idx on net._http_response (created);
end;
$$;

do $$
begin
  if exists (select 1 from pg_extension where extname = 'pg_net') then
    return;
  end if;

  -- pg_net signals its background worker; here the signal is a NOTIFY, which Postgres delivers
  -- only when the transaction commits, so a request never starts before its row is committed.
  create or replace function net.wake() returns void language sql as $f$
    select pg_notify('pg_net_wake', '')
  $f$;

  -- Every insert into the queue wakes the worker: net.http_* and rows queued directly alike
  -- (pg_net's worker polls its table; ours listens).
  create or replace function net._wake_after_queue_insert() returns trigger language plpgsql as $f$
  begin
    perform net.wake();
    return null;
  end
  $f$;
  create or replace trigger wake_worker_after_insert
    after insert on net.http_request_queue
    for each statement execute function net._wake_after_queue_insert();

  create or replace function net.check_worker_is_up() returns void language plpgsql as $f$
  begin
    if not exists (select 1 from pg_stat_activity where application_name = 'pg_net worker') then
      raise exception using message = 'the pg_net background worker is not up',
        detail = 'the local Supabase''s pg_net worker (Node) is not connected';
    end if;
  end
  $f$;

  create or replace function net.worker_restart() returns bool language sql as $f$
    select pg_notify('pg_net_wake', '') is not null
  $f$;

  create or replace function net._urlencode_string(string varchar) returns text
    language plpgsql immutable as $f$
  declare
    encoded text := '';
    byte int;
  begin
    if string is null then
      return null;
    end if;
    foreach byte in array (select coalesce(array_agg(get_byte(b.bytes, i) order by i), '{}')
                           from (select convert_to(string, 'UTF8') as bytes) b,
                                generate_series(0, length(b.bytes) - 1) as i) loop
      if (byte between 48 and 57) or (byte between 65 and 90) or (byte between 97 and 122)
         or byte in (45, 46, 95, 126) then
        encoded := encoded || chr(byte);
      else
        encoded := encoded || '%' || upper(lpad(to_hex(byte), 2, '0'));
      end if;
    end loop;
    return encoded;
  end
  $f$;

  create or replace function net._encode_url_with_params_array(url text, params_array text[]) returns text
    language sql immutable as $f$
    select case
      when coalesce(array_length(params_array, 1), 0) = 0 then url
      else url || case when position('?' in url) > 0 then '&' else '?' end || array_to_string(params_array, '&')
    end
  $f$;

  -- The URL with `params` appended as an encoded query string, as pg_net builds it.
  create or replace function net._url_with_params(url text, params jsonb) returns text
    language sql immutable as $f$
    select net._encode_url_with_params_array(url, (
      select coalesce(array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value)), '{}')
      from jsonb_each_text(params)
    ))
  $f$;

  create or replace function net.http_get(
    url text,
    params jsonb default '{}'::jsonb,
    headers jsonb default '{}'::jsonb,
    timeout_milliseconds int default 5000
  ) returns bigint language plpgsql as $f$
  declare
    request_id bigint;
  begin
    insert into net.http_request_queue (method, url, headers, timeout_milliseconds)
      values ('GET', net._url_with_params(url, params), headers, timeout_milliseconds)
      returning id into request_id;
    return request_id;
  end
  $f$;

  create or replace function net.http_post(
    url text,
    body jsonb default '{}'::jsonb,
    params jsonb default '{}'::jsonb,
    headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
    timeout_milliseconds int default 5000
  ) returns bigint language plpgsql as $f$
  declare
    request_id bigint;
    content_type text;
  begin
    select header_value into content_type
      from jsonb_each_text(coalesce(headers, '{}'::jsonb)) r(header_name, header_value)
      where lower(header_name) = 'content-type'
      limit 1;
    if content_type is null then
      headers := coalesce(headers, '{}'::jsonb) || '{"Content-Type": "application/json"}'::jsonb;
    end if;
    if content_type <> 'application/json' then
      raise exception 'Content-Type header must be "application/json"';
    end if;
    insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
      values ('POST', net._url_with_params(url, params), headers,
              convert_to(body::text, 'UTF8'), timeout_milliseconds)
      returning id into request_id;
    return request_id;
  end
  $f$;

  create or replace function net.http_delete(
    url text,
    params jsonb default '{}'::jsonb,
    headers jsonb default '{}'::jsonb,
    timeout_milliseconds int default 5000,
    body jsonb default null
  ) returns bigint language plpgsql as $f$
  declare
    request_id bigint;
  begin
    insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
      values ('DELETE', net._url_with_params(url, params), headers,
              convert_to(body::text, 'UTF8'), timeout_milliseconds)
      returning id into request_id;
    return request_id;
  end
  $f$;

  create or replace function net._http_collect_response(request_id bigint, async bool default true)
    returns net.http_response_result language plpgsql as $f$
  declare
    rec net._http_response;
  begin
    if not async then
      loop
        select * into rec from net._http_response where id = request_id;
        exit when rec is not null;
        perform pg_sleep(0.05);
      end loop;
    end if;
    select * into rec from net._http_response where id = request_id;
    if rec is null or rec.error_msg is not null then
      return ('ERROR', coalesce(rec.error_msg, 'request matching request_id not found'), null)::net.http_response_result;
    end if;
    return ('SUCCESS', 'ok', (rec.status_code, rec.headers, rec.content)::net.http_response)::net.http_response_result;
  end
  $f$;

  create or replace function net.http_collect_response(request_id bigint, async bool default true)
    returns net.http_response_result language plpgsql as $f$
  begin
    raise notice 'The net.http_collect_response function is deprecated.';
    return net._http_collect_response(request_id, async);
  end
  $f$;

end;
$$;

-- Who may use net. pg_net grants its schema, tables and sequences to PUBLIC and leaves its functions
-- executable by PUBLIC; here only the service role may (and postgres, the owner): the queue holds
-- each webhook's body and a valid signature, and net.http_* sends anything anywhere. The model
-- observer queues through security definer functions owned by postgres. At every start, so a
-- database created before this rule gets it too; the migration 20261203113000_net_closed_to_api_roles
-- does the same on a Supabase project.
do $$
begin
  if exists (select 1 from pg_extension where extname = 'pg_net') then
    return;
  end if;
  revoke all on schema net from public, anon, authenticated;
  revoke all on all tables in schema net from public, anon, authenticated;
  revoke all on all sequences in schema net from public, anon, authenticated;
  revoke all on all functions in schema net from public, anon, authenticated;
  grant usage on schema net to service_role;
  grant all on all tables in schema net to service_role;
  grant all on all sequences in schema net to service_role;
  grant execute on all functions in schema net to service_role;
end;
$$;

-- The Supabase CLI's migration history, with the columns `supabase migration list` reads -------

create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (version text not null primary key);
alter table supabase_migrations.schema_migrations add column if not exists statements text[];
alter table supabase_migrations.schema_migrations add column if not exists name text;
alter table supabase_migrations.schema_migrations add column if not exists created_by text;
alter table supabase_migrations.schema_migrations add column if not exists idempotency_key text unique;
alter table supabase_migrations.schema_migrations add column if not exists rollback text[];
create table if not exists supabase_migrations.seed_files (path text not null primary key, hash text not null);
