-- Admin announcements: one message to every signed-in user, on one channel any signed-in user may
-- join (private-announcements). The second model of the reference app, and its fan-out case: one
-- insert reaches every open page. Observed like any table, with one line.

create table public.announcements (
  id uuid primary key default gen_random_uuid(),
  sender_id uuid not null references public.profiles (id) on delete cascade,
  title text not null check (char_length(title) between 1 and 200),
  body text not null check (char_length(body) <= 2000),
  created_at timestamptz not null default now()
);

comment on table public.announcements is 'Announcements from an admin to every signed-in user (announcement.created on private-announcements).';

-- "The newest announcements", for the page's catch-up after a reconnect.
create index announcements_created_at_idx on public.announcements (created_at desc, id desc);
create index announcements_sender_id_idx on public.announcements (sender_id);

alter table public.announcements enable row level security;

create policy "announcements_select_signed_in" on public.announcements
  for select to authenticated
  using (true);

create policy "announcements_insert_admin" on public.announcements
  for insert to authenticated
  with check (sender_id = (select auth.uid()) and (select private.is_admin()));

revoke all on table public.announcements from anon, authenticated;
grant select, insert (sender_id, title, body) on table public.announcements to authenticated;
grant all on table public.announcements to service_role;

select tidings.observe('public.announcements');
