import type { MessageContent } from "../types.js";
import { header, section } from "./build.js";
import { escapeMrkdwn, escapeMrkdwnKeepingMentions, fallbackText } from "./escape.js";
import { fitParts } from "./fit.js";
import { fixedPart, listPart, textPart } from "./parts.js";

/** One slash command as help shows it. */
export interface CommandHelp {
  usage: string;
  summary: string;
  /** Flags, each `[flag, what it does]`. */
  flags?: Array<[string, string]>;
}

/** Every command the bot understands: shown in help and in the usage of error replies. */
export const COMMANDS: readonly CommandHelp[] = [
  { usage: "/redis help", summary: "This message." },
  {
    usage: "/redis history <cluster>",
    summary:
      "Recent failovers of the cluster from the journal: when, mode, outcome, who asked, who approved, how long.",
  },
  {
    usage: "/redis status <cluster>",
    summary:
      "Each server's role, replication link, offset, lag and last save, and whether the master is up, down or unconfirmed (and why).",
  },
  {
    usage:
      "/redis failover <cluster> [--mode replace|promote|switchover] [--spare HOST] [--replica HOST] [--dry-run]",
    summary:
      "Plans a failover and posts it here for a second person to approve; every step's output appears in the thread. Without --mode the bot chooses: switchover while the master answers, promote when it is down and a replica is eligible, replace otherwise. Type `/redis failover` alone to pick the cluster, mode and hosts in a form.",
    flags: [
      [
        "--mode switchover",
        "the master still answers: hand over to a replica without losing writes",
      ],
      ["--mode promote", "the master is down: promote the best replica"],
      [
        "--mode replace",
        "no replica may be promoted: copy a replica's snapshot to a spare and make it the master",
      ],
      [
        "--spare HOST",
        "the spare machine to use (replace: the new master; promote/switchover: a new replica)",
      ],
      [
        "--replica HOST",
        "the replica to use (replace: the snapshot source; promote/switchover: the new master)",
      ],
      ["--dry-run", "show the plan only; nothing is changed and no approval is asked"],
    ],
  },
];

/** `/redis help`: every command and flag. `extra` is the hook for commands added later. */
export function helpMessage(extra: readonly CommandHelp[] = []): MessageContent {
  const commands = [...COMMANDS, ...extra];
  const parts = [
    fixedPart(0, [header("help_header", "Redis failover bot")]),
    fixedPart(0, [
      section(
        "help_intro",
        "Fails over a Redis master from this channel: someone asks, a second person approves, and each step's output appears in the thread.",
      ),
    ]),
    ...commands.map((command, i) =>
      listPart({
        id: `help_cmd_${i + 1}`,
        priority: 1,
        title: `\`${escapeMrkdwn(command.usage)}\`\n${escapeMrkdwn(command.summary)}`,
        items: (command.flags ?? []).map(([flag, what]) => ({
          text: `• \`${escapeMrkdwn(flag)}\` — ${escapeMrkdwn(what)}`,
          fallback: `${flag} — ${what}`,
        })),
        more: (omitted) => `_… ${omitted} more flags._`,
        titleAlone: true,
      }),
    ),
  ];
  return {
    text: fallbackText(`Redis failover bot commands: ${commands.map((c) => c.usage).join("; ")}`),
    blocks: fitParts(parts).blocks,
  };
}

/** A command that could not be done: the reason, and how to use the commands when asked. */
export function errorMessage(text: string, withUsage: boolean): MessageContent {
  const reason = text.trim().length > 0 ? text : "Something went wrong.";
  const parts = [
    textPart({
      id: "error_text",
      priority: 0,
      raw: reason,
      keep: "head",
      maxChars: 2500,
      escape: escapeMrkdwnKeepingMentions,
      render: (escaped, shown) => `:warning: ${escaped}${shown.cut ? "…" : ""}`,
    }),
    ...(withUsage
      ? [
          fixedPart(1, [
            section(
              "error_usage",
              `*Usage*\n${COMMANDS.map((command) => `\`${escapeMrkdwn(command.usage)}\``).join("\n")}\nSee \`/redis help\` for what each flag does.`,
            ),
          ]),
        ]
      : []),
  ];
  return { text: fallbackText(`Error: ${reason}`), blocks: fitParts(parts).blocks };
}
