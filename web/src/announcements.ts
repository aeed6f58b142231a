// Admin announcements: a banner (and a toast) on every signed-in page, live over the announcements
// channel, fetched again on every (re)connect so one sent while offline still shows; and, for
// admins, the form that posts one.
import { characters, TextLimits } from '../../functions/broadcast/events.ts';
import { type Announcement, type Api, ApiError, type FieldIssue } from './api.ts';
import { byId } from './dom.ts';
import { toast } from './toast.ts';

/** The database's limits, counted as it counts (characters, not UTF-16 units). */
const TITLE_MAX = TextLimits.announcementTitle;
const BODY_MAX = TextLimits.announcementBody;

/** The page's announcements: the newest is shown in the banner until dismissed (remembered by the browser). */
export interface Announcements {
  /** Fetches what was announced since the newest one known (all recent ones the first time). */
  sync(): Promise<void>;
  /** A live announcement (possibly one already known: shown once). */
  received(announcement: Announcement): void;
}

/**
 * Where the browser remembers the announcement a user dismissed last, so a reload does not bring it
 * back; per user, since people may share a browser.
 */
const dismissedKey = (userId: string) => `tidings.dismissed-announcement.${userId}`;

function dismissedId(userId: string): string | null {
  try {
    return localStorage.getItem(dismissedKey(userId));
  } catch {
    return null; // Storage blocked: the banner shows again on the next load, as before.
  }
}

function rememberDismissed(userId: string, id: string): void {
  try {
    localStorage.setItem(dismissedKey(userId), id);
  } catch {
    // Storage blocked or full: dismissed for this page only.
  }
}

export function createAnnouncements(api: Api, userId: string): Announcements {
  const known = new Set<string>();
  let newest: Announcement | null = null;
  let firstSync = true;
  const banner = byId('announcement-banner');
  byId('announcement-dismiss').addEventListener('click', () => {
    banner.hidden = true;
    if (banner.dataset.announcementId) rememberDismissed(userId, banner.dataset.announcementId);
  });

  function show(announcement: Announcement, withToast: boolean): void {
    if (known.has(announcement.id)) return;
    known.add(announcement.id);
    if (newest && Date.parse(newest.created_at) > Date.parse(announcement.created_at)) return;
    newest = announcement;
    byId('announcement-title').textContent = announcement.title;
    byId('announcement-body').textContent = announcement.body;
    banner.dataset.announcementId = announcement.id;
    // Dismissed once, in this tab or another, a reload or a new tab does not show it again.
    banner.hidden = dismissedId(userId) === announcement.id;
    if (withToast) toast(`Announcement: ${announcement.title}`);
  }

  return {
    async sync() {
      try {
        const missed = await api.announcements(newest?.created_at);
        // Oldest first, so the newest ends up in the banner; the page's first load shows no toast.
        for (const announcement of missed.reverse()) show(announcement, !firstSync);
        firstSync = false;
      } catch {
        // The next reconnect tries again; the inbox reports connection problems already.
      }
    },
    received: (announcement) => show(announcement, true),
  };
}

/** What the browser can check before posting. */
export function validateAnnouncement(draft: { title: string; body: string }): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (draft.title.trim() === '') issues.push({ field: 'title', message: 'Write a title.' });
  // Counted as the Worker counts: after trimming, in characters.
  if (characters(draft.title.trim()) > TITLE_MAX)
    issues.push({ field: 'title', message: `Keep the title to at most ${TITLE_MAX} characters.` });
  if (characters(draft.body.trim()) > BODY_MAX)
    issues.push({ field: 'body', message: `Keep the message to at most ${BODY_MAX.toLocaleString('en-US')} characters.` });
  return issues;
}

/** Wires the announcement form (shown to admins only; the Worker enforces the role). */
export function setUpAnnounce(api: Api): { open(): void } {
  const dialog = byId<HTMLDialogElement>('announce-dialog');
  const form = byId<HTMLFormElement>('announce-form');
  const title = byId<HTMLInputElement>('announce-title');
  const body = byId<HTMLTextAreaElement>('announce-body');
  const send = byId<HTMLButtonElement>('announce-send');
  const formError = byId('announce-error');
  const fields: Record<string, HTMLElement> = { title, body };

  function showIssues(issues: FieldIssue[]): void {
    for (const [field, input] of Object.entries(fields)) {
      const messages = issues.filter((issue) => issue.field === field).map((issue) => issue.message);
      byId(`announce-${field}-error`).textContent = messages.join(' ');
      input.toggleAttribute('aria-invalid', messages.length > 0);
    }
    formError.textContent = issues
      .filter((issue) => !(issue.field in fields))
      .map((issue) => issue.message)
      .join(' ');
    const first = issues.find((issue) => issue.field in fields);
    if (first) fields[first.field]!.focus();
  }

  for (const id of ['announce-close', 'announce-cancel']) byId(id).addEventListener('click', () => dialog.close());
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const draft = { title: title.value, body: body.value };
    const issues = validateAnnouncement(draft);
    showIssues(issues);
    if (issues.length > 0) return;
    send.disabled = true;
    try {
      await api.announce({ title: draft.title.trim(), body: draft.body.trim() });
      dialog.close();
      toast(`Announced “${draft.title.trim()}” to everyone.`, { tone: 'success' });
    } catch (error) {
      if (error instanceof ApiError && error.issues.length > 0) showIssues(error.issues);
      else formError.textContent = (error as Error).message;
    } finally {
      send.disabled = false;
    }
  });

  return {
    open() {
      form.reset();
      showIssues([]);
      dialog.showModal();
      title.focus();
    },
  };
}
