/**
 * Who may join which channel: Tidings' `routes/channels.php`. Patterns leave out the Pusher prefix;
 * the prefix the client asks for decides the kind (`private-user.{id}`, `presence-inbox`).
 */
import { ChannelRules } from './channel-rules.ts';

export const mailboxChannels = new ChannelRules()
  // A user's mailbox notifications: only that user (also as `private-encrypted-user.{id}`).
  .channel('user.{id}', (user, id) => user.id === id)
  // Who is online: any signed-in user with a profile; members see each other's name and role only.
  .channel('inbox', async (user) => {
    const profile = await user.profile();
    return profile ? { name: profile.display_name, role: profile.role } : false;
  });
