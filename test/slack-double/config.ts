import { SLACK_LIMITS, type SlackLimits } from "./limits.js";
import type { BotIdentity } from "./state.js";

export interface ChannelSpec {
  id: string;
  name?: string;
  is_private?: boolean;
  /** When given, chat.postEphemeral to anyone else fails with `user_not_in_channel`. */
  members?: string[];
  /**
   * Whether the bot is a member (default true). If not, chat.postMessage and
   * chat.postEphemeral fail as Slack's do: `not_in_channel` in a public channel,
   * `channel_not_found` in a private one (the bot cannot see it).
   */
  is_member?: boolean;
  /** An archived channel: posting fails with `is_archived`. */
  is_archived?: boolean;
}

export interface UserSpec {
  id: string;
  name: string;
  real_name?: string;
  tz?: string;
  is_bot?: boolean;
  deleted?: boolean;
}

export interface SlackDoubleOptions {
  /** The one valid bot token. Default `DEFAULT_BOT_TOKEN`. */
  botToken?: string;
  identity?: Partial<BotIdentity>;
  /** When given, any other channel is `channel_not_found` (`invalid_channel` for files). */
  channels?: ChannelSpec[];
  /** usergroup id -> member user ids, for usergroups.users.list. */
  usergroups?: Record<string, string[]>;
  users?: UserSpec[];
  limits?: Partial<SlackLimits>;
  /** Artificial latency per method (`"*"` for all), in ms. */
  latencyMs?: Record<string, number>;
  /**
   * Reject `thread_ts` that names no message in the channel with `thread_not_found`
   * (default true). Stricter than Slack, which documents no such check; it catches a bot
   * threading under the wrong ts.
   */
  strictThreads?: boolean;
}

export const DEFAULT_BOT_TOKEN = "xoxb-0000000000-double-bot-token";

export const DEFAULT_IDENTITY: BotIdentity = {
  team_id: "T0DOUBLE01",
  team: "Double Workspace",
  team_domain: "double-workspace",
  user_id: "U0DOUBLEBOT",
  user: "redis-failover-bot",
  bot_id: "B0DOUBLEBOT",
  app_id: "A0DOUBLEAPP",
};

export interface DoubleConfig {
  botToken: string;
  identity: BotIdentity;
  channels: Map<string, ChannelSpec> | undefined;
  usergroups: Map<string, string[]>;
  users: Map<string, UserSpec>;
  limits: SlackLimits;
  strictThreads: boolean;
}

export function resolveConfig(o: SlackDoubleOptions): DoubleConfig {
  return {
    botToken: o.botToken ?? DEFAULT_BOT_TOKEN,
    identity: { ...DEFAULT_IDENTITY, ...o.identity },
    channels: o.channels && new Map(o.channels.map((c) => [c.id, c])),
    usergroups: new Map(Object.entries(o.usergroups ?? {})),
    users: new Map((o.users ?? []).map((u) => [u.id, u])),
    limits: { ...SLACK_LIMITS, ...o.limits },
    strictThreads: o.strictThreads ?? true,
  };
}

/**
 * Why the bot cannot post in `channel` (Slack's error code), if it cannot: archived, or the
 * bot is not a member (a private channel it is not in does not exist as far as it can tell).
 */
export function postingRefusal(config: DoubleConfig, channel: string): string | undefined {
  const spec = config.channels?.get(channel);
  if (!spec) return undefined;
  if (spec.is_member === false) return spec.is_private ? "channel_not_found" : "not_in_channel";
  if (spec.is_archived) return "is_archived";
  return undefined;
}

/** Channel id for an id or a name ("#ops" / "ops"); undefined when the channel does not exist. */
export function resolveChannel(config: DoubleConfig, raw: unknown): string | undefined {
  if (typeof raw !== "string" || raw === "") return undefined;
  if (!config.channels) return raw;
  if (config.channels.has(raw)) return raw;
  const name = raw.replace(/^#/, "");
  for (const c of config.channels.values()) if (c.name === name) return c.id;
  return undefined;
}
