import type { Logger } from "pino";
import type { ClusterConfig } from "../config/inventory.js";
import type { FailoverEngine } from "../engine/engine.js";
import { errorMessage, isFailoverError } from "../errors.js";
import type { FailoverRequest as EngineRequest } from "../plan/types.js";
import { stateText } from "../runs/approval.js";
import type { RunLifecycle } from "../runs/lifecycle.js";
import { historyRows } from "../state/history.js";
import { errorMessage as errorContent, helpMessage } from "./blocks/help.js";
import { historyMessage } from "./blocks/history-message.js";
import { statusMessage } from "./blocks/status-message.js";
import { parseSlashCommand, type SlashCommand } from "./parse-command.js";
import type { RunMessages } from "./run-messages.js";
import type { MessageContent } from "./types.js";

export interface CommandInput {
  text: string;
  user: string;
  channel: string;
}

/** Replies to the person who typed the command (Slack's response_url), visible to them only. */
export type Respond = (content: MessageContent) => Promise<void>;

export interface CommandOutcome {
  /** Sent as the HTTP acknowledgement: within Slack's 3 seconds, before any slow work. */
  ack: MessageContent;
  /** Slow work (preflight, posting the plan) started after the ack. */
  after?: () => Promise<void>;
}

type Failover = Extract<SlashCommand, { kind: "failover" }>;

/**
 * `/redis …`: parses, checks where it may be used, acknowledges at once and leaves the slow
 * part (reading servers, the journal) to `after`. A failover request becomes a run of the
 * lifecycle, posted as the root message its approvers act on.
 */
export class SlashCommands {
  readonly #engine: FailoverEngine;
  readonly #lifecycle: RunLifecycle;
  readonly #messages: RunMessages;
  readonly #log: Logger;
  readonly #permalink: ((channel: string, ts: string) => Promise<string | undefined>) | undefined;
  /** Clusters between "failover" typed and the plan posted on this instance. */
  readonly #planning = new Set<string>();

  constructor(options: {
    engine: FailoverEngine;
    lifecycle: RunLifecycle;
    messages: RunMessages;
    log: Logger;
    permalink?: (channel: string, ts: string) => Promise<string | undefined>;
  }) {
    this.#engine = options.engine;
    this.#lifecycle = options.lifecycle;
    this.#messages = options.messages;
    this.#log = options.log.child({ component: "slack-commands" });
    this.#permalink = options.permalink;
  }

  command(input: CommandInput, respond: Respond): CommandOutcome {
    const parsed = parseSlashCommand(input.text);
    this.#log.info({ user: input.user, channel: input.channel, ok: parsed.ok }, "slash command");
    if (!parsed.ok) return { ack: errorContent(parsed.error, true) };
    const command = parsed.command;
    if (command.kind === "help") return { ack: helpMessage() };
    const cluster = this.#engine.inventory.clusters.get(command.cluster);
    if (!cluster) {
      const known = [...this.#engine.inventory.clusters.keys()].map((name) => `\`${name}\``);
      return {
        ack: errorContent(
          `unknown cluster \`${command.cluster}\`; known clusters: ${known.join(", ")}`,
          true,
        ),
      };
    }
    switch (command.kind) {
      case "status":
        return {
          ack: { text: `:mag: Reading the topology of ${command.cluster}…` },
          after: () => this.#status(command.cluster, respond),
        };
      case "history":
        return {
          ack: { text: `:scroll: Reading the journal for ${command.cluster}…` },
          after: () => this.#history(command.cluster, respond),
        };
      case "failover": {
        const refusal = channelRefusal(cluster, input.channel);
        if (refusal) return { ack: errorContent(refusal, false) };
        return this.#failover(command, input, respond);
      }
    }
  }

  #failover(command: Failover, input: CommandInput, respond: Respond): CommandOutcome {
    if (!command.dryRun && this.#planning.has(command.cluster)) {
      return {
        ack: errorContent(
          `a failover of \`${command.cluster}\` is being planned right now; wait for its plan`,
          false,
        ),
      };
    }
    if (!command.dryRun) this.#planning.add(command.cluster);
    return {
      ack: {
        text: `:mag: Preflight for \`${command.cluster}\`: reading every server; the plan will be posted in this channel.`,
      },
      after: async () => {
        try {
          await this.#planAndPost(command, input, respond);
        } finally {
          this.#planning.delete(command.cluster);
        }
      },
    };
  }

  async #planAndPost(command: Failover, input: CommandInput, respond: Respond): Promise<void> {
    if (!command.dryRun) {
      let busy: Awaited<ReturnType<RunLifecycle["busyRun"]>>;
      try {
        busy = await this.#lifecycle.busyRun(command.cluster);
      } catch (error) {
        await respond(
          errorContent(
            `cannot read the journal (${errorMessage(error)}); nothing was changed`,
            false,
          ),
        );
        return;
      }
      if (busy) {
        const link =
          busy.channel && busy.rootTs
            ? await this.#permalink?.(busy.channel, busy.rootTs).catch(() => undefined)
            : undefined;
        const hint = busy.state === "interrupted" ? " Resume or Dismiss it in its thread." : "";
        await respond(
          errorContent(
            `a failover of \`${command.cluster}\` is already ${stateText(busy)} (run ${busy.runId}, asked by <@${busy.requester}>)${link ? `: ${link}` : ""}.${hint} Nothing was changed.`,
            false,
          ),
        );
        return;
      }
    }
    const request: EngineRequest = { cluster: command.cluster };
    if (command.mode) request.mode = command.mode;
    if (command.spare) request.spare = command.spare;
    if (command.replica) request.replica = command.replica;

    let outcome: Awaited<ReturnType<FailoverEngine["plan"]>>;
    try {
      outcome = await this.#engine.plan(request);
    } catch (error) {
      this.#log.error({ err: errorMessage(error), cluster: command.cluster }, "preflight failed");
      await respond(
        errorContent(
          `preflight failed: ${errorMessage(error)}`,
          isFailoverError(error, "UNKNOWN_HOST"),
        ),
      );
      return;
    }
    if (!outcome.ok) {
      const refusal = outcome.refusal;
      const lines = [
        `:no_entry: *Refused:* ${refusal.reason}`,
        ...(refusal.recommendedMode
          ? [
              `Recommended: \`/redis failover ${command.cluster} --mode ${refusal.recommendedMode}\``,
            ]
          : []),
        ...(refusal.advice ? [refusal.advice] : []),
        "Nothing was changed.",
      ];
      await respond({ text: lines.join("\n") });
      return;
    }

    const plan = outcome.plan;
    let view: Awaited<ReturnType<RunLifecycle["request"]>>;
    try {
      view = await this.#lifecycle.request(plan, {
        requester: input.user,
        channel: input.channel,
        dryRun: command.dryRun,
      });
    } catch (error) {
      await respond(
        errorContent(
          `the request could not be recorded in the journal (${errorMessage(error)}); nothing was posted or changed`,
          false,
        ),
      );
      return;
    }
    const root = this.#messages.post({ ...view, channel: input.channel });
    root
      .ts()
      .then((ts) => this.#lifecycle.journal.posted(plan, input.channel, ts))
      .catch((error: unknown) =>
        this.#log.error(
          { err: errorMessage(error) },
          "journal: could not record the posted message",
        ),
      );
  }

  async #status(cluster: string, respond: Respond): Promise<void> {
    try {
      const { topology, assessment } = await this.#engine.status(cluster);
      await respond(statusMessage(topology, assessment));
    } catch (error) {
      await respond(errorContent(`cannot read ${cluster}: ${errorMessage(error)}`, false));
    }
  }

  async #history(cluster: string, respond: Respond): Promise<void> {
    try {
      const runs = await this.#lifecycle.journal.runs();
      await respond(historyMessage(cluster, historyRows(runs.values(), cluster)));
    } catch (error) {
      await respond(errorContent(`cannot read the journal: ${errorMessage(error)}`, false));
    }
  }
}

/**
 * Failovers are requested only where approvers see them: one of the cluster's incident
 * channels, never a DM. An empty `channels` list allows none (status and history work anywhere).
 */
export function channelRefusal(cluster: ClusterConfig, channel: string): string | undefined {
  if (cluster.channels.length === 0) {
    return `failovers of \`${cluster.name}\` cannot be requested from Slack yet: list its incident channels under \`channels\` in the inventory, so that approvers see every request. \`status\` and \`history\` work anywhere`;
  }
  if (channel.startsWith("D")) {
    return `failovers cannot be requested in a direct message, where no approver sees them; ask in ${channelList(cluster)}`;
  }
  if (!cluster.channels.includes(channel)) {
    return `cluster \`${cluster.name}\` can only be acted on from ${channelList(cluster)}: failovers are requested where its approvers watch`;
  }
  return undefined;
}

function channelList(cluster: ClusterConfig): string {
  return cluster.channels.map((id) => `<#${id}>`).join(", ");
}
