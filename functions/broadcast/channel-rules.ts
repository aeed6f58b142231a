/**
 * Channel authorization rules, declared as in Laravel's `routes/channels.php`: a pattern without
 * the Pusher prefix and a callback that says who may join.
 *
 * @example
 * const rules = new ChannelRules()
 *   .channel('user.{id}', ['private'], (user, id) => user.id === id)             // private-user.{id}
 *   .channel('admins', ['presence'], async (user) => ({ name: ..., role: ... }));  // presence-admins: member info
 */
import { CHANNEL_NAME, invalidChannelName } from './pusher-rules.ts';

/** The signed-in user a rule decides about (from the verified JWT; the profile is read on demand). */
export interface ChannelUser {
  id: string;
  email: string | undefined;
  /** The user's `profiles` row, read at most once per request; null when there is none. */
  profile(): Promise<{ display_name: string; role: 'admin' | 'user' } | null>;
}

/** `true` lets the user into a private channel; member info (an object) lets them into a presence channel. */
export type RuleResult = boolean | Record<string, unknown> | null | undefined;
export type ChannelRule = (user: ChannelUser, ...params: string[]) => RuleResult | Promise<RuleResult>;

export type ChannelKind = 'private' | 'presence' | 'encrypted';

export type Authorization = { allowed: true; kind: ChannelKind; memberInfo?: Record<string, unknown> } | { allowed: false; reason: string };

/** The prefixes a rule can name: each authorized kind of channel, with its cache variant. */
export type ChannelPrefix = 'private' | 'private-cache' | 'private-encrypted' | 'private-encrypted-cache' | 'presence' | 'presence-cache';

// Longest first, so `private-encrypted-cache-x` is not read as `private-` + `encrypted-cache-x`.
const PREFIXES: Array<[ChannelPrefix, ChannelKind]> = [
  ['private-encrypted-cache', 'encrypted'],
  ['private-encrypted', 'encrypted'],
  ['presence-cache', 'presence'],
  ['private-cache', 'private'],
  ['presence', 'presence'],
  ['private', 'private'],
];

function compile(pattern: string): RegExp {
  const source = pattern
    .split(/(\{[A-Za-z_]\w*\})/)
    .map((part, i) => (i % 2 === 1 ? '([^.]+)' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

/** Who may join which channel, declared like Laravel's `routes/channels.php` (see mailbox-channels.ts). */
export class ChannelRules {
  readonly #rules: Array<{ pattern: string; regex: RegExp; rule: ChannelRule; prefixes: readonly ChannelPrefix[] }> = [];

  /**
   * Declares who may join the channels matching `pattern` (`{name}` matches one dot-free segment)
   * with one of `prefixes`, and no others: a presence rule must not also open `private-{pattern}`
   * (or hand out an encrypted channel's shared secret).
   */
  channel(pattern: string, prefixes: readonly [ChannelPrefix, ...ChannelPrefix[]], rule: ChannelRule): this {
    this.#rules.push({ pattern, regex: compile(pattern), rule, prefixes });
    return this;
  }

  /** Decides whether `user` may join `channelName` (full Pusher name), with the reason when not. */
  async authorize(user: ChannelUser, channelName: string): Promise<Authorization> {
    if (!CHANNEL_NAME.test(channelName)) {
      return { allowed: false, reason: invalidChannelName(channelName) };
    }
    const prefix = PREFIXES.find(([p]) => channelName.startsWith(`${p}-`));
    if (!prefix) return { allowed: false, reason: `${channelName} is a public channel: it needs no authorization` };
    const [prefixName, kind] = prefix;
    const name = channelName.slice(prefixName.length + 1);
    for (const { regex, rule, prefixes } of this.#rules) {
      if (!prefixes.includes(prefixName)) continue;
      const match = regex.exec(name);
      if (!match) continue;
      const result = await rule(user, ...match.slice(1));
      if (!result) return { allowed: false, reason: `You may not join ${channelName}` };
      if (kind === 'presence') {
        if (typeof result !== 'object') {
          return { allowed: false, reason: `The rule for ${channelName} returned no member info, which a presence channel needs` };
        }
        return { allowed: true, kind, memberInfo: result };
      }
      return { allowed: true, kind };
    }
    return { allowed: false, reason: `No rule allows ${channelName}` };
  }
}
