-- Profiles and emails: the mailbox's two tables, their indexes and row level security.
--
-- Every table has row level security with one policy per operation and role. service_role
-- bypasses row level security (it has BYPASSRLS), so the Worker, which uses it, sees every row.

create extension if not exists pgcrypto with schema extensions;

-- Helpers that policies call live in `private`, a schema PostgREST never exposes.
create schema if not exists private;
revoke all on schema private from public, anon;
grant usage on schema private to authenticated, service_role;

-- profiles --------------------------------------------------------------------------------------

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  email text not null,
  display_name text not null,
  role text not null default 'user' check (role in ('admin', 'user')),
  created_at timestamptz not null default now()
);

comment on table public.profiles is 'One row per auth user: the name others see and the role (admin or user).';

alter table public.profiles enable row level security;

-- security definer, so a policy on profiles can ask without recursing into profiles' own policies.
create function private.is_admin()
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.profiles where id = (select auth.uid()) and role = 'admin'
  );
$$;

comment on function private.is_admin() is 'Whether the caller (auth.uid()) has an admin profile.';

revoke all on function private.is_admin() from public, anon;
grant execute on function private.is_admin() to authenticated, service_role;

create policy "profiles_select_own_or_admin" on public.profiles
  for select to authenticated
  using (id = (select auth.uid()) or (select private.is_admin()));

create policy "profiles_update_own" on public.profiles
  for update to authenticated
  using (id = (select auth.uid()))
  with check (id = (select auth.uid()));

-- Column privileges keep a user from promoting themselves: only the display name is theirs to change.
revoke all on table public.profiles from anon, authenticated;
grant select on table public.profiles to authenticated;
grant update (display_name) on table public.profiles to authenticated;
grant all on table public.profiles to service_role;

-- A profile for every new auth user (sign-up, dashboard, seed), named from the user's metadata.
create function private.create_profile_for_new_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.profiles (id, email, display_name, role)
  values (
    new.id,
    coalesce(new.email, ''),
    coalesce(nullif(new.raw_user_meta_data ->> 'display_name', ''), split_part(coalesce(new.email, ''), '@', 1)),
    case when new.raw_app_meta_data ->> 'role' = 'admin' then 'admin' else 'user' end
  )
  on conflict (id) do nothing;
  return new;
end;
$$;

create trigger on_auth_user_created
  after insert on auth.users
  for each row execute function private.create_profile_for_new_user();

-- emails ----------------------------------------------------------------------------------------

create table public.emails (
  id uuid primary key default gen_random_uuid(),
  sender_id uuid not null references public.profiles (id) on delete cascade,
  recipient_id uuid not null references public.profiles (id) on delete cascade,
  subject text not null check (char_length(subject) between 1 and 200),
  body text not null check (char_length(body) <= 20000),
  created_at timestamptz not null default now(),
  read_at timestamptz,
  delivered_at timestamptz,
  delivery_attempts integer not null default 0
);

comment on table public.emails is 'In-app emails from an admin to a user. delivered_at and delivery_attempts are the broadcaster''s bookkeeping for redelivery.';
comment on column public.emails.delivered_at is 'When the email.received event was published; null until then (redelivery picks these up).';

-- "My inbox, newest first".
create index emails_recipient_id_created_at_idx on public.emails (recipient_id, created_at desc, id desc);
-- "Undelivered, oldest first" for the redelivery cron: small, because delivered rows leave it.
create index emails_undelivered_created_at_idx on public.emails (created_at) where delivered_at is null;
-- Foreign keys get an index so deleting a profile does not scan emails.
create index emails_sender_id_idx on public.emails (sender_id);

alter table public.emails enable row level security;

-- Senders see what they sent (PostgREST's return=representation reads the new row back).
create policy "emails_select_own" on public.emails
  for select to authenticated
  using ((select auth.uid()) in (recipient_id, sender_id));

create policy "emails_insert_admin" on public.emails
  for insert to authenticated
  with check (sender_id = (select auth.uid()) and (select private.is_admin()));

create policy "emails_update_recipient" on public.emails
  for update to authenticated
  using (recipient_id = (select auth.uid()))
  with check (recipient_id = (select auth.uid()));

-- Column privileges: a recipient may only mark read; bookkeeping columns are service_role's.
revoke all on table public.emails from anon, authenticated;
grant select, insert (sender_id, recipient_id, subject, body) on table public.emails to authenticated;
grant update (read_at) on table public.emails to authenticated;
grant all on table public.emails to service_role;
