/**
 * Who may join which channel: Tidings' `routes/channels.php`. Patterns leave out the Pusher prefix;
 * the prefix the client asks for decides the kind (`private-user.{id}`, `presence-admins`).
 */
import { ChannelRules } from './channel-rules.ts';

export const mailboxChannels = new ChannelRules()
  // A user's mailbox notifications: only that user (also as `private-encrypted-user.{id}`).
  .channel('user.{id}', ['private', 'private-encrypted'], (user, id) => user.id === id)
  // Admin announcements: any signed-in user (/broadcasting/auth has verified the token).
  .channel('announcements', ['private'], () => true)
  // Which admins are online, for the admins. Presence channels hold at most 100 members, so only
  // admins join one; any number of users can be online, each on their own private channel.
  .channel('admins', ['presence'], async (user) => {
    const profile = await user.profile();
    return profile?.role === 'admin' ? { name: profile.display_name, role: profile.role } : false;
  });
