// Toasts in one aria-live region (screen readers announce each as it is added), and the optional
// desktop notification for when the tab is in the background.
import { byId, el } from './dom.ts';

const VISIBLE_MS = 7000;
const MAX_TOASTS = 3;

/**
 * Shows a toast. `action` makes it clickable (e.g. "open this email"); with `actionLabel` the
 * action is a button of its own beside the text instead (e.g. "Undo").
 */
export function toast(
  message: string,
  options: { tone?: 'info' | 'success' | 'error'; action?: () => void; actionLabel?: string } = {},
): void {
  const region = byId('toasts');
  const text = el('span', { class: 'toast-text' }, message);
  const close = el('button', { class: 'toast-close', type: 'button', 'aria-label': 'Dismiss' }, '×');
  const labelled = options.action && options.actionLabel;
  const body = options.action && !labelled ? el('button', { class: 'toast-action', type: 'button' }, text) : text;
  const button = labelled ? el('button', { class: 'toast-button', type: 'button' }, options.actionLabel!) : null;
  const item = el('div', { class: `toast toast-${options.tone ?? 'info'}`, 'data-testid': 'toast' }, body, button, close);
  const dismiss = () => {
    item.classList.add('leaving');
    setTimeout(() => item.remove(), 200);
  };
  close.addEventListener('click', dismiss);
  if (options.action) {
    const action = options.action;
    (button ?? body).addEventListener('click', () => {
      action();
      dismiss();
    });
  }
  region.append(item);
  while (region.children.length > MAX_TOASTS) region.firstElementChild?.remove();
  // Keep it while the pointer or keyboard focus is on it, so it can be read and used.
  let timer = setTimeout(dismiss, VISIBLE_MS);
  const hold = () => clearTimeout(timer);
  const release = () => {
    clearTimeout(timer);
    timer = setTimeout(dismiss, VISIBLE_MS);
  };
  item.addEventListener('mouseenter', hold);
  item.addEventListener('focusin', hold);
  item.addEventListener('mouseleave', release);
  item.addEventListener('focusout', release);
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
