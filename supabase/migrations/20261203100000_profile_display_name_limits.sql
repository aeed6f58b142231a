-- Display names: 1 to 80 characters with no surrounding whitespace.
--
-- A user may rename themselves (update of display_name is granted to authenticated, limited to
-- their own row by row level security). Without a limit one name could exceed the realtime
-- server's 1 KB presence member info, which refuses the channel, or bloat GET /api/users.

update public.profiles
set display_name = left(btrim(display_name), 80)
where display_name <> left(btrim(display_name), 80);

update public.profiles
set display_name = coalesce(nullif(left(split_part(email, '@', 1), 80), ''), 'user')
where display_name = '';

alter table public.profiles
  add constraint profiles_display_name_length
  check (char_length(display_name) between 1 and 80 and display_name = btrim(display_name));

comment on constraint profiles_display_name_length on public.profiles is
  '1 to 80 characters, trimmed: a name fits presence member info (1 KB) and the user list.';

-- New users: the name from their metadata, trimmed and cut to 80 characters; else the start of
-- their email address.
create or replace function private.create_profile_for_new_user()
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
    coalesce(
      nullif(btrim(left(btrim(new.raw_user_meta_data ->> 'display_name'), 80)), ''),
      nullif(left(split_part(coalesce(new.email, ''), '@', 1), 80), ''),
      'user'
    ),
    case when new.raw_app_meta_data ->> 'role' = 'admin' then 'admin' else 'user' end
  )
  on conflict (id) do nothing;
  return new;
end;
$$;
