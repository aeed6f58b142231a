// The inbox: the list (newest first, unread highlighted), the reading pane, the unread count in
// the header and the tab title, live updates, catch-up after a reconnect and older pages.

import type { EmailReceivedPayload, EmailUpdatedPayload } from '../../functions/broadcast/events.ts';
import { type Api, ApiError } from './api.ts';
import { byId, el, initials, longTime, shortTime } from './dom.ts';
import { fromApi, fromEvent, Mailbox, type MailboxEmail, sortsAbove, timeKey } from './mailbox.ts';
import { notifyDesktop, type Toast, toast } from './toast.ts';
import { UnreadCount } from './unread-count.ts';

const PAGE_SIZE = 50;
/** The API's largest page, used when catching up so a long absence needs few requests. */
const CATCH_UP_PAGE = 100;
/**
 * After a reconnect, the newest emails shown whose read state and existence are checked again (an
 * outage's reads and deletions reached no event here); older ones keep what they showed.
 */
const MAX_RECHECKED = 1000;
/** More new emails at once than this get one summary toast (and notification) instead of one each. */
const MAX_TOASTS_AT_ONCE = 3;
/**
 * Live arrivals within this many ms are shown together: an import of a thousand rows reaches the
 * page within a few ms, and renders once, with one summary, instead of a thousand times.
 */
const ARRIVAL_BATCH_MS = 20;
/**
 * A summary toast grows with what arrives this soon after the batch it last counted: an import
 * reaches the page as one event per 100 rows, within a fraction of a second, and says its whole
 * count once. Later mail is announced on its own.
 */
const SUMMARY_GROWS_MS = 2000;
/** Live changes (reads in other tabs, deletions) render together, at most this often. */
const RENDER_BATCH_MS = 16;
/** Rows rendered above and below the visible ones, so a quick scroll rarely shows a blank. */
const OVERSCAN_ROWS = 10;
/** An older page loads once the last loaded row is this close below the viewport. */
const PREFETCH_ROWS = 25;
/** Until a row has been measured (styles.css gives every row the same height). */
const ROW_HEIGHT_GUESS = 72;

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
  const markAllButton = byId<HTMLButtonElement>('mark-all-read');
  const summary = byId('inbox-summary');
  const badge = byId('unread-badge');
  const appView = byId('app-view');
  let loaded = false;
  let hasOlder = false;
  /**
   * Where older pages continue: the last email of the pages the API gave, not the oldest email
   * shown, because a late live event (a redelivery) can bring in a row from further back.
   */
  let olderThan: { created_at: string; id: string } | undefined;
  let loadingOlder: Promise<void> | null = null;
  let openId: string | null = null;
  let syncing: Promise<void> = Promise.resolve();
  /** While shown emails are checked again after a reconnect: those a live event changed meanwhile. */
  let changedWhileRechecking: Set<string> | null = null;
  /** Rows to flash once, because they just arrived. */
  const fresh = new Set<string>();
  /** The newest summary toast on screen ("25 new emails arrived."): what it counts, and since when. */
  let shownSummary: { kind: 'live' | 'missed'; count: number; lastBatchAt: number; toast: Toast } | null = null;
  /** The "New email" toasts on screen, by email id. */
  const arrivalToasts = new Map<string, Toast>();
  /** Live arrivals not shown yet (see ARRIVAL_BATCH_MS). */
  let arriving: MailboxEmail[] = [];
  let arrivalTimer: ReturnType<typeof setTimeout> | undefined;
  let renderTimer: ReturnType<typeof setTimeout> | undefined;
  let scrollPending = false;
  let rowHeight = ROW_HEIGHT_GUESS;
  /** The top row in view at the last render, kept in place when emails come in or leave above it (see renderRows). */
  let topRow: { id: string; index: number } | undefined;
  /** The inbox's true unread count (./unread-count.ts), asked for again with `limit=1` when only the server knows it. */
  const unreadCount = new UnreadCount(
    async () => (await api.emails({ limit: 1 })).unread_count,
    () => scheduleRender(),
  );

  function unread(): number {
    return unreadCount.value(mailbox.unreadCount);
  }

  /** Applies a live change to the loaded emails to the true count too: `before` is their unread count before it. */
  function counted(before: number): void {
    unreadCount.changed(mailbox.unreadCount - before);
  }

  function scheduleRender(): void {
    renderTimer ??= setTimeout(render, RENDER_BATCH_MS);
  }

  function render(): void {
    clearTimeout(renderTimer);
    renderTimer = undefined;
    renderRows();
    list.setAttribute('aria-busy', String(!loaded));
    // How many emails the list holds (the DOM has only the rows near the viewport).
    list.dataset.count = String(mailbox.size);
    empty.hidden = !loaded || mailbox.size > 0;
    olderButton.hidden = !hasOlder;
    const total = unread();
    if (total > Number(badge.dataset.count ?? 0)) {
      // Restart the little "bump" so each new email is noticed.
      badge.classList.remove('bump');
      void badge.offsetWidth;
      badge.classList.add('bump');
    }
    const shown = total.toLocaleString('en-US');
    badge.dataset.count = String(total);
    badge.hidden = total === 0;
    badge.textContent = shown;
    badge.setAttribute('aria-label', `${shown} unread`);
    summary.textContent = mailbox.size === 0 ? '' : total === 0 ? 'All read' : `${shown} unread`;
    markAllButton.hidden = !loaded || total === 0 || mailbox.size === 0;
    document.title = total > 0 ? `(${shown}) Inbox · Tidings` : 'Inbox · Tidings';
    fresh.clear();
  }

  /**
   * Renders only the rows near the viewport, between two spacers as tall as the rows they stand
   * for, so the page holds a few dozen rows whether the inbox has 50 emails or 10,000.
   */
  function renderRows(): void {
    const emails = mailbox.list();
    const focusedRow = document.activeElement?.closest<HTMLElement>('li[data-email-id]');
    const focusedId = focusedRow?.dataset.emailId;
    const viewport = list.clientHeight || window.innerHeight;
    // Scroll anchoring, as browsers do for ordinary pages (these rows are rebuilt, so theirs cannot):
    // emails arriving or leaving above the anchor (the focused row, else the top row in view) move
    // the scroll with them, so the rows being read stay put and a focused row stays rendered, and
    // focused. At the very top only a focused row is anchored: new mail shows there.
    let scrollTop = list.scrollTop;
    const anchor = focusedRow ? { id: focusedId!, index: Number(focusedRow.dataset.index) } : scrollTop > 0 ? topRow : undefined;
    const anchored = anchor ? mailbox.get(anchor.id) : undefined;
    if (anchor && anchored) scrollTop = Math.max(0, scrollTop + (emails.indexOf(anchored) - anchor.index) * rowHeight);
    const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN_ROWS);
    const last = Math.min(emails.length, Math.ceil((scrollTop + viewport) / rowHeight) + OVERSCAN_ROWS);
    const rows = emails.slice(first, last).map((email, offset) => row(email, first + offset, emails.length));
    list.replaceChildren(spacer(first * rowHeight), ...rows, spacer((emails.length - last) * rowHeight));
    if (Math.abs(list.scrollTop - scrollTop) >= 1) list.scrollTop = scrollTop;
    const topIndex = Math.min(emails.length - 1, Math.floor(scrollTop / rowHeight));
    topRow = topIndex >= 0 ? { id: emails[topIndex]!.id, index: topIndex } : undefined;
    // One row is in the Tab order (the focused, open or first shown one); arrow keys move between rows.
    const current = rowButton(focusedId) ?? rowButton(openId) ?? rows[0]?.querySelector('button');
    for (const item of rows) {
      const button = item.querySelector('button')!;
      button.tabIndex = button === current ? 0 : -1;
    }
    if (focusedId) rowButton(focusedId)?.focus({ preventScroll: true });
    const measured = rows[0]?.getBoundingClientRect().height;
    if (measured && Math.abs(measured - rowHeight) > 0.5) {
      rowHeight = measured;
      renderRows();
      return;
    }
    if (hasOlder && last >= emails.length - PREFETCH_ROWS) void loadOlder();
  }

  function spacer(height: number): HTMLLIElement {
    const item = el('li', { class: 'email-list-spacer', 'aria-hidden': 'true', role: 'presentation' });
    item.style.height = `${height}px`;
    return item;
  }

  function row(email: MailboxEmail, index: number, size: number): HTMLLIElement {
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
    return el(
      'li',
      {
        class: classes,
        'data-email-id': email.id,
        'data-index': String(index),
        'data-testid': 'email-row',
        // Screen readers announce "12 of 2,683" although only a few rows exist in the page.
        'aria-posinset': String(index + 1),
        'aria-setsize': hasOlder ? '-1' : String(size),
      },
      button,
    );
  }

  function rowButton(id: string | null | undefined): HTMLButtonElement | undefined {
    return id ? (list.querySelector<HTMLButtonElement>(`li[data-email-id="${CSS.escape(id)}"] button`) ?? undefined) : undefined;
  }

  /**
   * Arrow keys, Page Up/Down, Home and End move focus through the whole inbox (a roving tabindex),
   * scrolling the row into view first, since only the rows near the viewport exist.
   */
  function moveFocus(event: KeyboardEvent): void {
    const index = Number(document.activeElement?.closest<HTMLElement>('li[data-index]')?.dataset.index ?? Number.NaN);
    if (Number.isNaN(index)) return;
    const page = Math.max(1, Math.floor(list.clientHeight / rowHeight) - 1);
    const lastIndex = mailbox.size - 1;
    const next = { ArrowDown: index + 1, ArrowUp: index - 1, PageDown: index + page, PageUp: index - page, Home: 0, End: lastIndex }[
      event.key
    ];
    if (next === undefined) return;
    event.preventDefault();
    focusRow(Math.max(0, Math.min(lastIndex, next)));
  }

  function focusRow(index: number): void {
    // The spacers first: emails may have come in since the last render, and a scroll past the end
    // of the list as last rendered would stop short of the row.
    renderRows();
    const top = index * rowHeight;
    if (top < list.scrollTop) list.scrollTop = top;
    else if (top + rowHeight > list.scrollTop + list.clientHeight) list.scrollTop = top + rowHeight - list.clientHeight;
    renderRows();
    const target = rowButton(mailbox.list()[index]?.id);
    if (!target) {
      // Nothing left to focus (the inbox emptied): the list keeps focus, not the page's body.
      list.focus({ preventScroll: true });
      return;
    }
    for (const button of list.querySelectorAll<HTMLButtonElement>('li[data-email-id] button')) button.tabIndex = button === target ? 0 : -1;
    target.focus({ preventScroll: true });
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
      const before = mailbox.unreadCount;
      mailbox.merge([fromApi(full)]);
      counted(before);
      render();
      if (openId === id) renderReader();
    } catch (error) {
      // Deleted meanwhile: as when its email.deleted comes (nothing more if it came first).
      if (error instanceof ApiError && error.status === 404) removeDeleted(id);
      else toast(`Could not open the email: ${(error as Error).message}`, { tone: 'error' });
    }
  }

  /**
   * An email was deleted: it leaves the list (and the reader, saying so), and keyboard focus on it
   * (its row, or a phone's reader) moves to the next email. False when the page did not have it.
   */
  function removeDeleted(id: string): boolean {
    const before = mailbox.unreadCount;
    const email = mailbox.get(id);
    const index = email ? mailbox.list().indexOf(email) : -1;
    const focused = document.activeElement;
    const hadFocus =
      focused?.closest<HTMLElement>('li[data-email-id]')?.dataset.emailId === id || (openId === id && Boolean(focused?.closest('#reader')));
    if (!mailbox.delete(id)) return false;
    counted(before);
    // Its "New email" toast goes too: it would open an email that is no longer there.
    arrivalToasts.get(id)?.dismiss();
    if (openId === id) {
      openId = null;
      renderReader();
      toast(`“${email!.subject}” was deleted.`);
    }
    if (hadFocus) {
      render();
      focusRow(Math.min(index, mailbox.size - 1));
    } else {
      scheduleRender();
    }
    return true;
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
    const shown: Toast = toast(message, {
      action: () => void open(email.id),
      // Only its own entry: the same email announced again later has a newer one.
      onGone: () => {
        if (arrivalToasts.get(email.id) === shown) arrivalToasts.delete(email.id);
      },
    });
    arrivalToasts.set(email.id, shown);
    notifyDesktop(`New email from ${email.sender_name}`, email.subject, () => void open(email.id));
  }

  /** The newest page; returns the emails the page did not have. */
  async function loadFirstPage(): Promise<MailboxEmail[]> {
    const asked = unreadCount.asking();
    const page = await api.emails({ limit: PAGE_SIZE });
    const added = mailbox.merge(page.emails.map(fromApi));
    unreadCount.answered(page.unread_count, asked);
    hasOlder = page.emails.length === PAGE_SIZE;
    olderThan = page.emails.at(-1);
    loaded = true;
    render();
    return added;
  }

  /**
   * Everything newer than the newest email shown, page by page (newest first, so walk down), and
   * the count anew. Stops where the loaded pages end: below that are older pages, not missed mail.
   */
  async function catchUp(): Promise<void> {
    const newest = mailbox.newest();
    // An empty inbox has no cursor: whatever the newest page holds now arrived after the first load.
    if (!newest) return announceMissed(await loadFirstPage());
    // `after` is exclusive, and emails inserted in one transaction share `created_at`: ask from just
    // before the newest one, so its peers that never arrived come too (the mailbox drops repeats).
    const after = new Date(Date.parse(newest) - 1).toISOString();
    // Such a transaction may hold thousands of emails (an import) of which one page is loaded: the
    // rest of them sort below where the loaded pages end, and "Load older" brings them as usual.
    const loadedDownTo = hasOlder ? olderThan : undefined;
    const added: MailboxEmail[] = [];
    let below: { created_at: string; id: string } | undefined;
    for (;;) {
      const asked = unreadCount.asking();
      const page = await api.emails({ after, before: below?.created_at, before_id: below?.id, limit: CATCH_UP_PAGE });
      const missed = loadedDownTo ? page.emails.filter((email) => sortsAbove(email, loadedDownTo)) : page.emails;
      added.push(...mailbox.merge(missed.map(fromApi)));
      // Reads and deletions missed while away changed it too: the server's count replaces ours.
      unreadCount.answered(page.unread_count, asked);
      // Each page shows at once, so the list (and keyboard focus in it) always matches what is known.
      render();
      if (page.emails.length < CATCH_UP_PAGE || missed.length < page.emails.length) break;
      below = page.emails.at(-1)!;
    }
    announceMissed(added);
    render();
    // Needed after the first subscription of a page load as well, not only after a reconnect: the
    // first page was read before the channel was live (the inbox shows without waiting for the
    // socket), so a read or deletion made in between sent its event to no one here, and one whose
    // event came while that read was in flight found no row to change. Reading the first page only
    // once subscribed would save this request and the catch-up's, but hold the inbox back by the
    // socket's handshake, channel auth and subscribe (several round trips) and keep it empty while
    // the realtime server is out of reach. Pinned by test/browser/connection.test.ts, "the first
    // subscription of a page load".
    await recheckShown();
  }

  /**
   * Reads and deletions made while the page was offline (or not yet subscribed) sent events it never
   * got: pages down from the newest email (at most {@link MAX_RECHECKED}) and makes the emails shown match the server,
   * read state and all, taking off those it no longer has. An email a live event changed meanwhile
   * keeps what that event said; one below the pages read keeps what it showed.
   */
  async function recheckShown(): Promise<void> {
    const shown = mailbox.list().slice();
    if (shown.length === 0) return;
    const current = new Map<string, string | null>();
    changedWhileRechecking = new Set();
    let below: { created_at: string; id: string } | undefined;
    let whole = false;
    let last: { count: number; asked: number } | undefined;
    try {
      while (current.size < MAX_RECHECKED) {
        const asked = unreadCount.asking();
        const page = await api.emails({ before: below?.created_at, before_id: below?.id, limit: CATCH_UP_PAGE });
        last = { count: page.unread_count, asked };
        for (const email of page.emails) current.set(email.id, email.read_at);
        whole = page.emails.length < CATCH_UP_PAGE;
        below = page.emails.at(-1);
        // Done when the inbox ends, a time no cursor can carry comes, or the shown emails end.
        if (whole || !below || !Number.isFinite(timeKey(below.created_at)) || !sortsAbove(shown.at(-1)!, below)) break;
      }
    } finally {
      const changed = changedWhileRechecking;
      changedWhileRechecking = null;
      for (const email of shown) {
        if (changed.has(email.id) || !mailbox.get(email.id)) continue;
        if (current.has(email.id)) mailbox.setReadAt(email.id, current.get(email.id)!);
        else if (whole || (below && sortsAbove(email, below))) removeDeleted(email.id);
      }
      // The server's count with the last page read, as the rows now are.
      if (last) unreadCount.answered(last.count, last.asked);
      render();
      if (openId) renderReader();
    }
  }

  /** The next older page, once at a time: scrolling near the end asks for it by itself. */
  function loadOlder(): Promise<void> {
    const below = olderThan;
    if (!below || loadingOlder) return loadingOlder ?? Promise.resolve();
    olderButton.disabled = true;
    olderButton.textContent = 'Loading…';
    loadingOlder = (async () => {
      try {
        const asked = unreadCount.asking();
        const page = await api.emails({ before: below.created_at, before_id: below.id, limit: PAGE_SIZE });
        mailbox.merge(page.emails.map(fromApi));
        unreadCount.answered(page.unread_count, asked);
        hasOlder = page.emails.length === PAGE_SIZE;
        olderThan = page.emails.at(-1) ?? olderThan;
      } catch (error) {
        // Stop asking by itself; the button tries again.
        hasOlder = false;
        olderButton.hidden = false;
        toast(`Could not load older emails: ${(error as Error).message}`, { tone: 'error' });
      } finally {
        loadingOlder = null;
        olderButton.disabled = false;
        olderButton.textContent = 'Load older';
      }
      render();
    })();
    return loadingOlder;
  }

  /** Marks everything up to the newest email shown read (one request, one statement), with an Undo. */
  async function markAllRead(): Promise<void> {
    const upTo = mailbox.newest();
    if (!upTo) return;
    markAllButton.disabled = true;
    try {
      const asked = unreadCount.asking();
      const { marked, read_at, unread_count } = await api.markAllRead(upTo);
      for (const email of mailbox.list())
        if (email.read_at === null && timeKey(email.created_at) <= timeKey(upTo)) mailbox.setReadAt(email.id, read_at);
      // The count after the update, not ours minus `marked`: this tab's own email.updated events
      // for these emails often arrive before the answer and have moved ours already.
      unreadCount.answered(unread_count, asked);
      render();
      if (openId) renderReader();
      toast(`Marked ${marked.toLocaleString('en-US')} ${marked === 1 ? 'email' : 'emails'} read.`, {
        tone: 'success',
        actionLabel: 'Undo',
        action: () => void undoMarkAllRead(read_at),
      });
    } catch (error) {
      toast(`Could not mark your emails read: ${(error as Error).message}`, { tone: 'error' });
    } finally {
      markAllButton.disabled = false;
    }
  }

  async function undoMarkAllRead(readAt: string): Promise<void> {
    try {
      const asked = unreadCount.asking();
      const { unmarked, unread_count } = await api.undoMarkAllRead(readAt);
      for (const email of mailbox.list())
        if (email.read_at !== null && timeKey(email.read_at) === timeKey(readAt)) mailbox.setReadAt(email.id, null);
      unreadCount.answered(unread_count, asked);
      render();
      if (openId) renderReader();
      toast(`Marked ${unmarked.toLocaleString('en-US')} ${unmarked === 1 ? 'email' : 'emails'} unread again.`, { tone: 'success' });
    } catch (error) {
      toast(`Could not undo: ${(error as Error).message}`, { tone: 'error' });
    }
  }

  /**
   * Flashes and announces new emails: one each, or one summary for many. A summary of the same kind
   * still on screen grows instead when the batch comes within {@link SUMMARY_GROWS_MS} of its last.
   */
  function announceAll(added: MailboxEmail[], kind: 'live' | 'missed'): void {
    if (added.length === 0) return;
    for (const email of added) fresh.add(email.id);
    render();
    const now = Date.now();
    const growing = shownSummary?.kind === kind && now - shownSummary.lastBatchAt <= SUMMARY_GROWS_MS ? shownSummary : null;
    if (added.length <= MAX_TOASTS_AT_ONCE && !growing) {
      for (const email of added) announce(email);
      return;
    }
    const count = (growing?.count ?? 0) + added.length;
    const text = `${count.toLocaleString('en-US')} new emails arrived${kind === 'missed' ? ' while you were away' : ''}.`;
    if (growing) {
      growing.toast.update(text);
      growing.count = count;
      growing.lastBatchAt = now;
    } else {
      const entry: NonNullable<typeof shownSummary> = {
        kind,
        count,
        lastBatchAt: now,
        toast: toast(text, {
          onGone: () => {
            if (shownSummary === entry) shownSummary = null;
          },
        }),
      };
      shownSummary = entry;
    }
    notifyDesktop(text, 'Open Tidings to read them.', closeReader);
  }

  /** Emails a catch-up found. */
  function announceMissed(added: MailboxEmail[]): void {
    announceAll(added, 'missed');
  }

  /** Shows the live arrivals gathered since the first of them. */
  function showArrivals(): void {
    arrivalTimer = undefined;
    // Deleted meanwhile: not worth announcing.
    const batch = arriving.filter((email) => mailbox.get(email.id));
    arriving = [];
    announceAll(batch, 'live');
  }

  olderButton.addEventListener('click', () => {
    hasOlder = true;
    void loadOlder();
  });
  markAllButton.addEventListener('click', () => void markAllRead());
  list.addEventListener('scroll', () => {
    if (scrollPending) return;
    scrollPending = true;
    requestAnimationFrame(() => {
      scrollPending = false;
      renderRows();
    });
  });
  window.addEventListener('resize', () => renderRows());
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
      changedWhileRechecking?.add(event.id);
      const before = mailbox.unreadCount;
      const added = mailbox.merge([fromEvent(event)]);
      if (added.length === 0) return; // a redelivery, or already fetched by a catch-up
      counted(before);
      arriving.push(...added);
      arrivalTimer ??= setTimeout(showArrivals, ARRIVAL_BATCH_MS);
    },
    updated(change) {
      changedWhileRechecking?.add(change.id);
      const before = mailbox.unreadCount;
      if (!mailbox.setReadAt(change.id, change.read_at)) return unreadCount.changedUnknown();
      counted(before);
      scheduleRender();
      if (openId === change.id) renderReader();
    },
    deleted(id) {
      changedWhileRechecking?.add(id);
      if (!removeDeleted(id)) unreadCount.changedUnknown();
    },
    clear() {
      clearTimeout(arrivalTimer);
      clearTimeout(renderTimer);
      arrivalTimer = undefined;
      renderTimer = undefined;
      arriving = [];
      for (const email of mailbox.list()) mailbox.remove(email.id);
      unreadCount.reset();
      loaded = false;
      hasOlder = false;
      olderThan = undefined;
      openId = null;
      list.scrollTop = 0;
      topRow = undefined;
      render();
      renderReader();
      document.title = 'Tidings';
    },
  };
}
