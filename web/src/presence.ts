// "Admins online", for admins: the members of the admins' presence channel. The channel keys
// members by user id, so a person with two tabs open is one member and appears once.
import { byId, el, initials } from './dom.ts';
import type { OnlineMember } from './realtime.ts';

/**
 * A member's name as shown. On Pusher the server signs member info; on Ably each client enters its
 * own, so a member without a usable name must not break everyone's list. Every member is an admin
 * (only admins may join), so no role is shown: the sidebar's room goes to the name.
 */
function shown(member: OnlineMember): { name: string } {
  const info = (member.info ?? {}) as { name?: unknown };
  return { name: typeof info.name === 'string' && info.name.trim() ? info.name : 'Someone' };
}

/** Renders the online list; the signed-in user is listed first, marked "(you)". */
export function renderPresence(members: OnlineMember[], myId: string): void {
  const listed = members
    .map((member) => ({ id: member.id, ...shown(member) }))
    .sort((a, b) => (a.id === myId ? -1 : b.id === myId ? 1 : a.name.localeCompare(b.name)));
  byId('online-count').textContent = members.length > 0 ? String(members.length) : '';
  byId('online-list').replaceChildren(
    ...listed.map((member) =>
      el(
        'li',
        { class: 'online-member', 'data-user-id': member.id, 'data-testid': 'online-member' },
        el('span', { class: 'avatar small', 'aria-hidden': 'true' }, initials(member.name), el('span', { class: 'online-dot' })),
        el('span', { class: 'online-name' }, member.name, member.id === myId ? el('span', { class: 'muted' }, ' (you)') : null),
      ),
    ),
  );
}

/** Empties the list (signed out, or the presence channel is not joined yet). */
export function clearPresence(): void {
  byId('online-count').textContent = '';
  byId('online-list').replaceChildren();
}
