-- Development users with known local passwords (password123). Never run this on production.
-- Works with `supabase db reset` (real GoTrue) and with the offline local Supabase.
--
--   admin@tidings.local  Tidings Admin           (admin)
--   ada@tidings.local    Ada Lovelace            (user)
--   grace@tidings.local  Grace Hopper            (user)
--
-- The on_auth_user_created trigger creates each profile from the metadata below.

insert into auth.users (
  instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
  raw_app_meta_data, raw_user_meta_data, created_at, updated_at,
  confirmation_token, recovery_token, email_change, email_change_token_new
)
select
  '00000000-0000-0000-0000-000000000000', u.id, 'authenticated', 'authenticated', u.email,
  extensions.crypt('password123', extensions.gen_salt('bf')), now(),
  jsonb_build_object('provider', 'email', 'providers', jsonb_build_array('email'), 'role', u.role),
  jsonb_build_object('display_name', u.display_name), now(), now(),
  '', '', '', ''
from (values
  ('00000000-0000-4000-8000-00000000ad01'::uuid, 'admin@tidings.local', 'Tidings Admin', 'admin'),
  ('00000000-0000-4000-8000-0000000000a1'::uuid, 'ada@tidings.local', 'Ada Lovelace', 'user'),
  ('00000000-0000-4000-8000-0000000000b2'::uuid, 'grace@tidings.local', 'Grace Hopper', 'user')
) as u (id, email, display_name, role)
on conflict (id) do nothing;

-- GoTrue signs in through an email identity.
insert into auth.identities (id, provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
select u.id, u.id::text, u.id,
  jsonb_build_object('sub', u.id::text, 'email', u.email, 'email_verified', true),
  'email', now(), now(), now()
from auth.users u
where u.email in ('admin@tidings.local', 'ada@tidings.local', 'grace@tidings.local')
on conflict do nothing;

-- In case the profiles existed before the trigger did.
insert into public.profiles (id, email, display_name, role)
select u.id, u.email, u.raw_user_meta_data ->> 'display_name', coalesce(u.raw_app_meta_data ->> 'role', 'user')
from auth.users u
where u.email in ('admin@tidings.local', 'ada@tidings.local', 'grace@tidings.local')
on conflict (id) do update set display_name = excluded.display_name, role = excluded.role;
