-- Display names: visible text, and nothing that rearranges the text around them.
--
-- profiles_display_name_length trims with btrim(), which removes only the ASCII space, so a name of
-- one tab, newline, no-break space, ideographic space or zero-width space passed as "not empty" and
-- showed as a blank sender. Control characters (a newline breaks a line of the list) and the
-- bidirectional embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069, which make
-- "resU" read as another name, or reorder what follows it) have no place in a name either.
--
-- Characters are named by code point, so the check means the same under every locale:
--   whitespace: U+0009-U+000D, U+0020, U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029,
--               U+202F, U+205F, U+3000
--   invisible:  U+180E, U+200B-U+200D (zero-width space and joiners), U+2060, U+FEFF
-- A name may neither start nor end with either kind (a zero-width joiner inside an emoji stays).

-- The cleaned form of a name: controls become spaces, bidirectional controls go, whitespace and
-- invisible characters are trimmed from both ends, then the name is cut to 80 characters; null
-- when nothing is left. New users' names and existing rows go through it.
create or replace function private.clean_display_name(name text)
returns text
language sql
immutable
set search_path = ''
as $$
  select nullif(
    regexp_replace(
      left(
        regexp_replace(
          regexp_replace(
            regexp_replace(name, '[\u0001-\u001f\u007f-\u009f]', ' ', 'g'),
            '[\u202a-\u202e\u2066-\u2069]', '', 'g'),
          '^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\u180e\ufeff]+|[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\u180e\ufeff]+$',
          '', 'g'),
        80),
      '[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\u180e\ufeff]+$', ''),
    '')
$$;

revoke all on function private.clean_display_name(text) from public, anon, authenticated;

update public.profiles
set display_name = coalesce(
  private.clean_display_name(display_name),
  private.clean_display_name(split_part(email, '@', 1)),
  'user'
)
where display_name is distinct from private.clean_display_name(display_name);

-- Inline, not through the function: a check runs as the writing role, and authenticated (who may
-- rename themselves) may not call functions in private.
alter table public.profiles
  add constraint profiles_display_name_visible
  check (
    display_name !~ '[\u0001-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]'
    and display_name !~ '^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\u180e\ufeff]|[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\u180e\ufeff]$'
  );

comment on constraint profiles_display_name_visible on public.profiles is
  'No control or bidirectional control characters, and no whitespace or invisible character at either end: a name shows as text.';

-- New users: the name from their metadata, cleaned; else the start of their email address; else "user".
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
      private.clean_display_name(new.raw_user_meta_data ->> 'display_name'),
      private.clean_display_name(split_part(coalesce(new.email, ''), '@', 1)),
      'user'
    ),
    case when new.raw_app_meta_data ->> 'role' = 'admin' then 'admin' else 'user' end
  )
  on conflict (id) do nothing;
  return new;
end;
$$;
