// Toasts in one aria-live region (screen readers announce each as it is added), and the optional
// desktop notification for when the tab is in the background.
import { byId, el } from './dom.ts';

const VISIBLE_MS = 7000;
const MAX_TOASTS = 3;

/** How to take each toast on screen away (its timer cleared, `onGone` told). */
const dismissers = new WeakMap<Element, () => void>();

/** A toast on screen. */
export interface Toast {
  /** Takes it away now (e.g. when what it announces is gone); nothing if it has left already. */
  dismiss(): void;
  /** Says something else in place (a summary that grew) and stays its full time again. */
  update(message: string): void;
}

/**
 * Shows a toast. `action` makes it clickable (e.g. "open this email"); with `actionLabel` the
 * action is a button of its own beside the text instead (e.g. "Undo"). `onGone` is told once it
 * leaves, however it leaves.
 */
export function toast(
  message: string,
  options: { tone?: 'info' | 'success' | 'error'; action?: () => void; actionLabel?: string; onGone?: () => void } = {},
): Toast {
  const region = byId('toasts');
  const text = el('span', { class: 'toast-text' }, message);
  const close = el('button', { class: 'toast-close', type: 'button', 'aria-label': 'Dismiss' }, '×');
  const labelled = options.action && options.actionLabel;
  const body = options.action && !labelled ? el('button', { class: 'toast-action', type: 'button' }, text) : text;
  const button = labelled ? el('button', { class: 'toast-button', type: 'button' }, options.actionLabel!) : null;
  const item = el('div', { class: `toast toast-${options.tone ?? 'info'}`, 'data-testid': 'toast' }, body, button, close);
  let gone = false;
  /** While the pointer or keyboard focus is on it: it stays, so it can be read and used. */
  let held = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const dismiss = () => {
    if (gone) return;
    gone = true;
    clearTimeout(timer);
    options.onGone?.();
    item.classList.add('leaving');
    setTimeout(() => item.remove(), 200);
  };
  const restart = () => {
    clearTimeout(timer);
    if (!gone && !held) timer = setTimeout(dismiss, VISIBLE_MS);
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
  // The oldest ones make room at once; those already leaving take none.
  const staying = Array.from(region.children).filter((child) => !child.classList.contains('leaving'));
  for (const old of staying.slice(0, Math.max(0, staying.length - MAX_TOASTS))) {
    dismissers.get(old)?.();
    old.remove();
  }
  restart();
  const hold = () => {
    held = true;
    clearTimeout(timer);
  };
  const release = () => {
    held = false;
    restart();
  };
  item.addEventListener('mouseenter', hold);
  item.addEventListener('focusin', hold);
  item.addEventListener('mouseleave', release);
  item.addEventListener('focusout', release);
  return {
    dismiss,
    update(next) {
      text.textContent = next;
      restart();
    },
  };
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
