// The seeded development accounts, defined once for every test: Node-side tests sign in as them,
// workerd tests use their ids, the browser tests and benchmarks act as them. No imports, so both
// runtimes can load it. The source of truth is supabase/seed.sql (and DEV_USERS in
// .dev.vars.example); test/supabase/migrations.test.ts checks the seeded rows against this list and
// test/browser/sign-in.test.ts checks the development logins the Worker offers.

/** Someone who can sign in. */
export interface SeedUser {
  id: string;
  email: string;
  password: string;
  /** The profile's display name, as the page and the events show it. */
  name: string;
  role: 'admin' | 'user';
}

/** The admin and two users of supabase/seed.sql, in the order DEV_USERS lists them. */
export const seedUsers = {
  admin: {
    id: '00000000-0000-4000-8000-00000000ad01',
    email: 'admin@tidings.local',
    password: 'password123',
    name: 'Tidings Admin',
    role: 'admin',
  },
  ada: {
    id: '00000000-0000-4000-8000-0000000000a1',
    email: 'ada@tidings.local',
    password: 'password123',
    name: 'Ada Lovelace',
    role: 'user',
  },
  grace: {
    id: '00000000-0000-4000-8000-0000000000b2',
    email: 'grace@tidings.local',
    password: 'password123',
    name: 'Grace Hopper',
    role: 'user',
  },
} as const satisfies Record<string, SeedUser>;
