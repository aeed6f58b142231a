// The web client's entry point: load the config, restore or start a session, then run the inbox.

import { ANNOUNCEMENTS_CHANNEL } from '../../functions/broadcast/events.ts';
import { createAnnouncements, setUpAnnounce } from './announcements.ts';
import { ApiError, type ClientConfig, createApi, type DevUser, fetchConfig, type User } from './api.ts';
import { setUpCompose } from './compose.ts';
import { showConnection } from './connection.ts';
import { startDeliveryPanel } from './delivery.ts';
import { byId, el, initials } from './dom.ts';
import { createInbox } from './inbox.ts';
import { renderPresence } from './presence.ts';
import { connectRealtime } from './realtime.ts';
import { type Auth, createAuth } from './session.ts';
import { askForNotifications, canAskForNotifications, toast } from './toast.ts';

/** Shows exactly one of the page's top-level views. */
function show(view: 'boot' | 'sign-in' | 'app'): void {
  byId('boot-status').hidden = view !== 'boot';
  byId('sign-in-view').hidden = view !== 'sign-in';
  byId('app-view').hidden = view !== 'app';
  byId('session-bar').hidden = view !== 'app';
}

function bootError(message: string): void {
  show('boot');
  const status = byId('boot-status');
  status.classList.add('error');
  status.textContent = message;
}

/** The sign-in form, with the seeded development accounts as one-click choices when listed. */
function showSignIn(auth: Auth, config: ClientConfig, onSignedIn: () => void, notice = ''): void {
  show('sign-in');
  document.title = 'Sign in · Tidings';
  const form = byId<HTMLFormElement>('sign-in-form');
  const email = byId<HTMLInputElement>('sign-in-email');
  const password = byId<HTMLInputElement>('sign-in-password');
  const submit = byId<HTMLButtonElement>('sign-in-submit');
  const error = byId('sign-in-error');
  error.textContent = notice;

  const signIn = async () => {
    error.textContent = '';
    if (!email.value.trim() || !password.value) {
      error.textContent = 'Enter your email and password.';
      (email.value.trim() ? password : email).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      await auth.signIn(email.value.trim(), password.value);
      password.value = '';
      onSignedIn();
    } catch (reason) {
      error.textContent = (reason as Error).message;
      password.select();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  };
  form.onsubmit = (event) => {
    event.preventDefault();
    void signIn();
  };

  const devUsers: DevUser[] = config.devUsers ?? [];
  byId('dev-users').hidden = devUsers.length === 0;
  byId('dev-user-list').replaceChildren(
    ...devUsers.map((user) => {
      const button = el(
        'button',
        { class: 'dev-user', type: 'button', 'data-testid': 'dev-user' },
        el('span', { class: 'avatar small', 'aria-hidden': 'true' }, initials(user.email.split('@')[0] ?? '')),
        el('span', { class: 'dev-user-email' }, user.email),
        el('span', { class: `role-tag ${user.role}` }, user.role),
      );
      button.addEventListener('click', () => {
        email.value = user.email;
        password.value = user.password;
        void signIn();
      });
      return el('li', {}, button);
    }),
  );
  email.focus();
}

/** The signed-in page: header, inbox, presence, compose (admins) and the live connection. */
async function startApp(auth: Auth, config: ClientConfig, onSessionLost: (notice: string) => void, justSignedIn: boolean): Promise<void> {
  const api = createApi(auth.token);
  let me: User;
  try {
    me = await api.me();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      await auth.signOut();
      return onSessionLost('Your session has ended. Please sign in again.');
    }
    return bootError(`Could not load your profile: ${(error as Error).message}`);
  }

  show('app');
  // The sign-in form is gone: put keyboard focus where the user is going, not on a hidden button.
  if (justSignedIn) byId('inbox-list').focus();
  byId('me-name').textContent = me.display_name;
  byId('me-role').textContent = me.role === 'admin' ? 'Admin' : me.email;
  byId('me-avatar').textContent = initials(me.display_name);
  byId('sign-out').onclick = async () => {
    await auth.signOut();
    location.reload();
  };

  const notify = byId<HTMLButtonElement>('notify-button');
  notify.hidden = !canAskForNotifications();
  notify.onclick = async () => {
    await askForNotifications();
    notify.hidden = true;
  };

  if (me.role === 'admin') {
    const compose = setUpCompose(api);
    const button = byId<HTMLButtonElement>('compose-button');
    button.hidden = false;
    button.onclick = () => compose.open();
    const announce = setUpAnnounce(api);
    const announceButton = byId<HTMLButtonElement>('announce-button');
    announceButton.hidden = false;
    announceButton.onclick = () => announce.open();
    startDeliveryPanel(api);
  }

  const inbox = createInbox(api);
  void inbox.sync();
  const announcements = createAnnouncements(api, me.id);
  // Only admins see who is online (the admins' presence channel); users' pages have no such panel,
  // and nothing else in the sidebar either.
  byId('presence').hidden = me.role !== 'admin';
  byId('app-view').classList.toggle('no-sidebar', me.role !== 'admin');
  connectRealtime(config, me, auth.token, {
    state: showConnection,
    synced: () => void inbox.sync(),
    received: (event) => inbox.received(event),
    updated: (change) => inbox.updated(change),
    deleted: ({ id }) => inbox.deleted(id),
    announcementsSynced: () => void announcements.sync(),
    announced: (announcement) => announcements.received(announcement),
    presence: (members) => renderPresence(members, me.id),
    refused: (channel, reason) =>
      toast(
        channel.startsWith('presence-')
          ? `Cannot show which admins are online: ${reason}`
          : channel === ANNOUNCEMENTS_CHANNEL
            ? `Announcements are off: ${reason}.`
            : `Live updates are off: ${reason}. Reload to try again.`,
        { tone: 'error' },
      ),
  });
  // Signed out in another tab (supabase-js tells every tab): start again from the sign-in page.
  auth.onSignedOut(() => location.reload());
}

async function main(): Promise<void> {
  let config: ClientConfig;
  try {
    config = await fetchConfig();
  } catch (error) {
    return bootError(`Tidings cannot start: ${(error as Error).message} (GET /api/config)`);
  }
  const auth = await createAuth(config);
  const begin = (notice = '', justSignedIn = false) => {
    if (auth.current()) void startApp(auth, config, begin, justSignedIn);
    else showSignIn(auth, config, () => begin('', true), notice);
  };
  begin();
}

void main();
