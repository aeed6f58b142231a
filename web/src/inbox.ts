// The inbox: the list (newest first, unread highlighted), the reading pane, the unread count in
// the header and the tab title, live updates, catch-up after a reconnect and older pages.

import type { EmailReceivedPayload, EmailUpdatedPayload } from '../../functions/broadcast/events.ts';
import type { Api } from './api.ts';
import { byId, el, initials, longTime, shortTime } from './dom.ts';
import { fromApi, fromEvent, Mailbox, type MailboxEmail } from './mailbox.ts';
import { notifyDesktop, toast } from './toast.ts';

const PAGE_SIZE = 50;
/** The API's largest page, used when catching up so a long absence needs few requests. */
const CATCH_UP_PAGE = 100;
/** More new emails at once than this get one summary toast (and notification) instead of one each. */
const MAX_TOASTS_AT_ONCE = 3;
/**
 * Live arrivals within this many ms are shown together: an import of a thousand rows reaches the
 * page within a few ms, and renders once, with one summary, instead of a thousand times.
 */
const ARRIVAL_BATCH_MS = 20;

/** The inbox controller; the realtime layer and main.ts call these. */
export interface Inbox {
  /** Loads the newest page, or (after the first load) everything newer than what is shown. */
  sync(): Promise<void>;
  received(event: EmailReceivedPayload): void;
  updated(change: EmailUpdatedPayload): void;
  deleted(id: string): void;
  /** Empties the view (sign-out). */
  clear(): void;
}

/** Wires the inbox's part of index.html to the API. */
export function createInbox(api: Api): Inbox {
  const mailbox = new Mailbox();
  const list = byId<HTMLUListElement>('inbox-list');
  const empty = byId('inbox-empty');
  const olderButton = byId<HTMLButtonElement>('load-older');
  const summary = byId('inbox-summary');
  const badge = byId('unread-badge');
  const appView = byId('app-view');
  let loaded = false;
  let hasOlder = false;
  /**
   * Where "Load older" continues: the last email of the pages the API gave, not the oldest email
   * shown, because a late live event (a redelivery) can bring in a row from further back.
   */
  let olderThan: { created_at: string; id: string } | undefined;
  let openId: string | null = null;
  let syncing: Promise<void> = Promise.resolve();
  /** Rows to flash once, because they just arrived. */
  const fresh = new Set<string>();
  /** Live arrivals not shown yet (see ARRIVAL_BATCH_MS). */
  let arriving: MailboxEmail[] = [];
  let arrivalTimer: ReturnType<typeof setTimeout> | undefined;

  function render(): void {
    const emails = mailbox.list();
    // Rows are rebuilt; keep keyboard focus on the same email's row.
    const focusedId = document.activeElement?.closest<HTMLElement>('li[data-email-id]')?.dataset.emailId;
    list.replaceChildren(...emails.map(row));
    // One row is in the Tab order (the focused, open or newest one); arrow keys move between rows.
    const buttons = Array.from(list.querySelectorAll<HTMLButtonElement>('button'));
    const current = rowButton(focusedId) ?? rowButton(openId) ?? buttons[0];
    for (const button of buttons) button.tabIndex = button === current ? 0 : -1;
    if (focusedId) rowButton(focusedId)?.focus();
    list.setAttribute('aria-busy', String(!loaded));
    empty.hidden = !loaded || emails.length > 0;
    olderButton.hidden = !hasOlder;
    const unread = mailbox.unreadCount;
    if (unread > Number(badge.textContent || 0)) {
      // Restart the little "bump" so each new email is noticed.
      badge.classList.remove('bump');
      void badge.offsetWidth;
      badge.classList.add('bump');
    }
    badge.hidden = unread === 0;
    badge.textContent = String(unread);
    badge.setAttribute('aria-label', `${unread} unread`);
    summary.textContent = emails.length === 0 ? '' : unread === 0 ? 'All read' : `${unread} unread`;
    document.title = unread > 0 ? `(${unread}) Inbox · Tidings` : 'Inbox · Tidings';
    fresh.clear();
  }

  function row(email: MailboxEmail): HTMLLIElement {
    const unread = email.read_at === null;
    const button = el(
      'button',
      { class: 'email-row-button', type: 'button', 'aria-current': email.id === openId ? 'true' : undefined },
      el('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(email.sender_name)),
      el(
        'span',
        { class: 'email-row-text' },
        el(
          'span',
          { class: 'email-row-top' },
          el('span', { class: 'email-sender' }, email.sender_name),
          el('time', { class: 'email-time', datetime: email.created_at }, shortTime(email.created_at)),
        ),
        el('span', { class: 'email-subject' }, unread ? el('span', { class: 'visually-hidden' }, 'Unread: ') : null, email.subject),
        el('span', { class: 'email-preview' }, email.preview),
      ),
    );
    button.addEventListener('click', () => void open(email.id));
    const classes = ['email-row', unread ? 'unread' : 'read', fresh.has(email.id) ? 'fresh' : ''].filter(Boolean).join(' ');
    return el('li', { class: classes, 'data-email-id': email.id, 'data-testid': 'email-row' }, button);
  }

  function rowButton(id: string | null | undefined): HTMLButtonElement | undefined {
    return id ? (list.querySelector<HTMLButtonElement>(`li[data-email-id="${CSS.escape(id)}"] button`) ?? undefined) : undefined;
  }

  /** Arrow keys, Home and End move focus through the list (a roving tabindex). */
  function moveFocus(event: KeyboardEvent): void {
    const buttons = Array.from(list.querySelectorAll<HTMLButtonElement>('button'));
    const index = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (index < 0) return;
    const next = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: buttons.length - 1 }[event.key];
    const target = next === undefined ? undefined : buttons[Math.max(0, Math.min(buttons.length - 1, next))];
    if (!target) return;
    event.preventDefault();
    for (const button of buttons) button.tabIndex = button === target ? 0 : -1;
    target.focus();
  }

  function renderReader(): void {
    const email = openId ? mailbox.get(openId) : undefined;
    byId('reader-empty').hidden = Boolean(email);
    byId('reader-content').hidden = !email;
    appView.classList.toggle('reading', Boolean(email));
    if (!email) return;
    byId('reader-subject').textContent = email.subject;
    byId('reader-from').textContent = email.sender_name;
    byId('reader-avatar').textContent = initials(email.sender_name);
    const time = byId('reader-time');
    time.textContent = longTime(email.created_at);
    time.setAttribute('datetime', email.created_at);
    const body = byId('reader-body');
    body.classList.toggle('loading', email.body === null);
    body.textContent = email.body ?? email.preview;
  }

  /** Opens an email: shows it at once, then marks it read (which also returns the full body). */
  async function open(id: string): Promise<void> {
    openId = id;
    render();
    renderReader();
    // On a phone the reader replaces the list, so focus follows; on a wide screen it stays on the row.
    if (window.matchMedia('(max-width: 700px)').matches) byId('reader').focus({ preventScroll: true });
    const email = mailbox.get(id);
    if (!email || (email.read_at !== null && email.body !== null)) return;
    try {
      const full = await api.markRead(id);
      mailbox.merge([fromApi(full)]);
      render();
      if (openId === id) renderReader();
    } catch (error) {
      toast(`Could not open the email: ${(error as Error).message}`, { tone: 'error' });
    }
  }

  function closeReader(): void {
    const previous = openId;
    openId = null;
    renderReader();
    render();
    rowButton(previous)?.focus();
  }

  function announce(email: MailboxEmail): void {
    const message = `New email from ${email.sender_name}: ${email.subject}`;
    toast(message, { action: () => void open(email.id) });
    notifyDesktop(`New email from ${email.sender_name}`, email.subject, () => void open(email.id));
  }

  /** The newest page; returns the emails the page did not have. */
  async function loadFirstPage(): Promise<MailboxEmail[]> {
    const emails = await api.emails({ limit: PAGE_SIZE });
    const added = mailbox.merge(emails.map(fromApi));
    hasOlder = emails.length === PAGE_SIZE;
    olderThan = emails.at(-1);
    loaded = true;
    render();
    return added;
  }

  /** Everything newer than the newest email shown, page by page (newest first, so walk down). */
  async function catchUp(): Promise<void> {
    const newest = mailbox.newest();
    // An empty inbox has no cursor: whatever the newest page holds now arrived after the first load.
    if (!newest) return announceMissed(await loadFirstPage());
    // `after` is exclusive, and emails inserted in one transaction share `created_at`: ask from just
    // before the newest one, so its peers that never arrived come too (the mailbox drops repeats).
    const after = new Date(Date.parse(newest) - 1).toISOString();
    const added: MailboxEmail[] = [];
    let below: { created_at: string; id: string } | undefined;
    for (;;) {
      const batch = await api.emails({ after, before: below?.created_at, before_id: below?.id, limit: CATCH_UP_PAGE });
      added.push(...mailbox.merge(batch.map(fromApi)));
      if (batch.length < CATCH_UP_PAGE) break;
      below = batch.at(-1)!;
    }
    announceMissed(added);
  }

  /** Flashes and announces new emails: one each, or one summary for many. */
  function announceAll(added: MailboxEmail[], summary: string): void {
    if (added.length === 0) return;
    for (const email of added) fresh.add(email.id);
    render();
    if (added.length > MAX_TOASTS_AT_ONCE) {
      toast(summary);
      notifyDesktop(summary, 'Open Tidings to read them.', closeReader);
    } else {
      for (const email of added) announce(email);
    }
  }

  /** Emails a catch-up found. */
  function announceMissed(added: MailboxEmail[]): void {
    announceAll(added, `${added.length} new emails arrived while you were away.`);
  }

  /** Shows the live arrivals gathered since the first of them. */
  function showArrivals(): void {
    arrivalTimer = undefined;
    // Deleted meanwhile: not worth announcing.
    const batch = arriving.filter((email) => mailbox.get(email.id));
    arriving = [];
    announceAll(batch, `${batch.length} new emails arrived.`);
  }

  olderButton.addEventListener('click', async () => {
    const below = olderThan;
    if (!below) return;
    olderButton.disabled = true;
    olderButton.textContent = 'Loading…';
    try {
      const emails = await api.emails({ before: below.created_at, before_id: below.id, limit: PAGE_SIZE });
      mailbox.merge(emails.map(fromApi));
      hasOlder = emails.length === PAGE_SIZE;
      olderThan = emails.at(-1) ?? olderThan;
      render();
    } catch (error) {
      toast(`Could not load older emails: ${(error as Error).message}`, { tone: 'error' });
    } finally {
      olderButton.disabled = false;
      olderButton.textContent = 'Load older';
    }
  });
  byId('reader-back').addEventListener('click', closeReader);
  list.addEventListener('keydown', moveFocus);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && openId && !document.querySelector('dialog[open]')) closeReader();
  });

  return {
    sync() {
      // One sync at a time: a reconnect during the first load must not fetch the same page twice.
      syncing = syncing
        .then(async () => void (loaded ? await catchUp() : await loadFirstPage()))
        .catch((error: Error) => {
          toast(`Could not load your inbox: ${error.message}`, { tone: 'error' });
        });
      return syncing;
    },
    received(event) {
      const added = mailbox.merge([fromEvent(event)]);
      if (added.length === 0) return; // a redelivery, or already fetched by a catch-up
      arriving.push(...added);
      arrivalTimer ??= setTimeout(showArrivals, ARRIVAL_BATCH_MS);
    },
    updated(change) {
      if (!mailbox.setReadAt(change.id, change.read_at)) return;
      render();
      if (openId === change.id) renderReader();
    },
    deleted(id) {
      if (!mailbox.delete(id)) return;
      if (openId === id) openId = null;
      render();
      renderReader();
    },
    clear() {
      clearTimeout(arrivalTimer);
      arrivalTimer = undefined;
      arriving = [];
      for (const email of mailbox.list()) mailbox.remove(email.id);
      loaded = false;
      hasOlder = false;
      olderThan = undefined;
      openId = null;
      render();
      renderReader();
      document.title = 'Tidings';
    },
  };
}
