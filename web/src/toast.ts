// Toasts in one aria-live region (screen readers announce each as it is added), and the optional
// desktop notification for when the tab is in the background.
import { byId, el } from './dom.ts';

const VISIBLE_MS = 7000;
const MAX_TOASTS = 3;

/** How to take each toast on screen away (its timer cleared, `onGone` told). */
const dismissers = new WeakMap<Element, () => void>();

/**
 * Shows a toast. `action` makes it clickable (e.g. "open this email"); with `actionLabel` the
 * action is a button of its own beside the text instead (e.g. "Undo"). `onGone` is told once it
 * leaves, however it leaves. Returns a function that takes it away early (e.g. when what it
 * announces is gone); nothing happens if it has left already.
 */
export function toast(
  message: string,
  options: { tone?: 'info' | 'success' | 'error'; action?: () => void; actionLabel?: string; onGone?: () => void } = {},
): () => void {
  const region = byId('toasts');
  const text = el('span', { class: 'toast-text' }, message);
  const close = el('button', { class: 'toast-close', type: 'button', 'aria-label': 'Dismiss' }, '×');
  const labelled = options.action && options.actionLabel;
  const body = options.action && !labelled ? el('button', { class: 'toast-action', type: 'button' }, text) : text;
  const button = labelled ? el('button', { class: 'toast-button', type: 'button' }, options.actionLabel!) : null;
  const item = el('div', { class: `toast toast-${options.tone ?? 'info'}`, 'data-testid': 'toast' }, body, button, close);
  let gone = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const dismiss = () => {
    if (gone) return;
    gone = true;
    clearTimeout(timer);
    options.onGone?.();
    item.classList.add('leaving');
    setTimeout(() => item.remove(), 200);
  };
  dismissers.set(item, dismiss);
  close.addEventListener('click', dismiss);
  if (options.action) {
    const action = options.action;
    (button ?? body).addEventListener('click', () => {
      action();
      dismiss();
    });
  }
  region.append(item);
  // The oldest ones make room at once (leaving ones still count until they are removed).
  for (const old of Array.from(region.children).slice(0, Math.max(0, region.children.length - MAX_TOASTS))) {
    dismissers.get(old)?.();
    old.remove();
  }
  // Keep it while the pointer or keyboard focus is on it, so it can be read and used.
  timer = setTimeout(dismiss, VISIBLE_MS);
  const hold = () => clearTimeout(timer);
  const release = () => {
    clearTimeout(timer);
    if (!gone) timer = setTimeout(dismiss, VISIBLE_MS);
  };
  item.addEventListener('mouseenter', hold);
  item.addEventListener('focusin', hold);
  item.addEventListener('mouseleave', release);
  item.addEventListener('focusout', release);
  return dismiss;
}

/** Whether desktop notifications could be offered (supported and not yet decided). */
export function canAskForNotifications(): boolean {
  return 'Notification' in window && Notification.permission === 'default';
}

/** Asks for permission; must run from a click (browsers ignore it otherwise). */
export async function askForNotifications(): Promise<boolean> {
  if (!('Notification' in window)) return false;
  return (await Notification.requestPermission()) === 'granted';
}

/** A desktop notification, only when the tab is hidden and the user allowed it. */
export function notifyDesktop(title: string, body: string, onClick: () => void): void {
  if (!('Notification' in window) || Notification.permission !== 'granted' || !document.hidden) return;
  const notification = new Notification(title, { body, tag: 'tidings-new-email' });
  notification.addEventListener('click', () => {
    window.focus();
    onClick();
    notification.close();
  });
}
