import type { Logger } from "pino";
import type { ClusterConfig } from "../config/inventory.js";
import type { FailoverEngine } from "../engine/engine.js";
import { errorMessage, isFailoverError } from "../errors.js";
import type { FailoverRequest as EngineRequest } from "../plan/types.js";
import { stateText } from "../runs/approval.js";
import type { RunLifecycle } from "../runs/lifecycle.js";
import { historyRows } from "../state/history.js";
import { openWatches, replayWatches, type WatchHistory } from "../state/watches.js";
import { errorMessage as errorContent, helpMessage } from "./blocks/help.js";
import { historyMessage } from "./blocks/history-message.js";
import { statusMessage } from "./blocks/status-message.js";
import { refusedBecause } from "./outbox/message-ref.js";
import { type FailoverCommand, type FailoverField, parseSlashCommand } from "./parse-command.js";
import type { RunMessages } from "./run-messages.js";
import type { MessageContent } from "./types.js";

export interface CommandInput {
  text: string;
  user: string;
  channel: string;
  /** Lets the command open a form (views.open), within 3 seconds of the command. */
  triggerId?: string;
  /** The command's response_url: a form carries it so that its answers reach the same place. */
  responseUrl?: string;
}

/** Replies to the person who typed the command (Slack's response_url), visible to them only. */
export type Respond = (content: MessageContent) => Promise<void>;

export interface CommandOutcome {
  /**
   * Sent as the HTTP acknowledgement: within Slack's 3 seconds, before any slow work. None:
   * an empty acknowledgement, which shows nothing (a form opens instead).
   */
  ack?: MessageContent;
  /** Slow work (preflight, posting the plan) started after the ack. */
  after?: () => Promise<void>;
  /** Called instead of `after` when it is not started (too many requests in progress). */
  cancel?: () => void;
  /** Quick work started right after the ack, never queued (opening a form: its trigger expires). */
  immediate?: () => Promise<void>;
}

/** `/redis failover` alone: opens the form in which the request is made. */
export type OpenForm = (input: CommandInput, respond: Respond) => CommandOutcome;

/** Where a failover request stands once checked: refused (and why, about which field) or accepted. */
export type FailoverOutcome =
  | { ok: false; message: string; usage: boolean; field?: FailoverField }
  | { ok: true; ack: MessageContent; after: () => Promise<void>; cancel: () => void };

/** How a plan that Slack refused to post is explained to whoever asked for it. */
const UNPOSTABLE: Record<string, (channel: string, invite: string) => string> = {
  not_in_channel: (channel, invite) =>
    `the bot is not a member of ${channel}. Invite it there with \`${invite}\`, then request the failover again`,
  channel_not_found: (channel, invite) =>
    `Slack says ${channel} does not exist for the bot: a private channel it has not been invited to looks that way. Invite it there with \`${invite}\`, or correct the cluster's \`channels\` in the inventory`,
  is_archived: (channel) =>
    `${channel} is archived. Unarchive it, or list the cluster's current incident channel under \`channels\` in the inventory`,
};

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

  readonly #botName: (() => Promise<string | undefined>) | undefined;
  readonly #openForm: OpenForm | undefined;

  constructor(options: {
    engine: FailoverEngine;
    lifecycle: RunLifecycle;
    messages: RunMessages;
    log: Logger;
    permalink?: (channel: string, ts: string) => Promise<string | undefined>;
    /** The bot's user name, for the `/invite @…` a requester is told to type. */
    botName?: () => Promise<string | undefined>;
    /** Opens the failover form; without it `/redis failover` alone asks for a cluster name. */
    openForm?: OpenForm;
  }) {
    this.#engine = options.engine;
    this.#lifecycle = options.lifecycle;
    this.#messages = options.messages;
    this.#log = options.log.child({ component: "slack-commands" });
    this.#permalink = options.permalink;
    this.#botName = options.botName;
    this.#openForm = options.openForm;
  }

  command(input: CommandInput, respond: Respond): CommandOutcome {
    const parsed = parseSlashCommand(input.text);
    this.#log.info({ user: input.user, channel: input.channel, ok: parsed.ok }, "slash command");
    if (!parsed.ok) return { ack: errorContent(parsed.error, true) };
    const command = parsed.command;
    if (command.kind === "help") return { ack: helpMessage() };
    if (command.kind === "failover-form") {
      if (this.#openForm) return this.#openForm(input, respond);
      return { ack: errorContent("`failover` needs a cluster name", true) };
    }
    if (command.kind === "failover") {
      const outcome = this.failover(command, input, respond);
      return outcome.ok ? outcome : { ack: errorContent(outcome.message, outcome.usage) };
    }
    const refusal = this.#unknownCluster(command.cluster);
    if (refusal) return { ack: errorContent(refusal.message, true) };
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
    }
  }

  /**
   * A parsed failover request, typed or made in the form: checked against the inventory
   * (cluster, hosts, the channel it came from) and the plans being made here. Accepted, it
   * is acknowledged at once and planned in `after`.
   */
  failover(
    command: FailoverCommand,
    input: Pick<CommandInput, "user" | "channel">,
    respond: Respond,
  ): FailoverOutcome {
    const unknown = this.#unknownCluster(command.cluster);
    if (unknown) return unknown;
    const cluster = this.#engine.cluster(command.cluster);
    for (const field of ["spare", "replica"] as const) {
      const host = command[field];
      if (host !== undefined && !cluster.hosts.some((candidate) => candidate.name === host)) {
        const hosts = cluster.hosts.map((candidate) => `\`${candidate.name}\``).join(", ");
        return {
          ok: false,
          field,
          usage: false,
          message: `cluster \`${cluster.name}\` has no host \`${host}\`; its hosts are: ${hosts}`,
        };
      }
    }
    const refusal = channelRefusal(cluster, input.channel);
    if (refusal) return { ok: false, field: "cluster", usage: false, message: refusal };
    if (!command.dryRun && this.#planning.has(command.cluster)) {
      return {
        ok: false,
        field: "cluster",
        usage: false,
        message: `a failover of \`${command.cluster}\` is being planned right now; wait for its plan`,
      };
    }
    // Only a real request holds the cluster here: a dry run neither takes nor frees it.
    if (!command.dryRun) this.#planning.add(command.cluster);
    const release = () => {
      if (!command.dryRun) this.#planning.delete(command.cluster);
    };
    return {
      ok: true,
      ack: {
        text: `:mag: Preflight for \`${command.cluster}\`: reading every server; the plan will be posted in this channel.`,
      },
      after: async () => {
        try {
          await this.#planAndPost(command, input, respond);
        } finally {
          release();
        }
      },
      cancel: release,
    };
  }

  #unknownCluster(name: string): Extract<FailoverOutcome, { ok: false }> | undefined {
    if (this.#engine.inventory.clusters.has(name)) return undefined;
    const known = [...this.#engine.inventory.clusters.keys()].map((known) => `\`${known}\``);
    return {
      ok: false,
      field: "cluster",
      usage: true,
      message: `unknown cluster \`${name}\`; known clusters: ${known.join(", ")}`,
    };
  }

  async #planAndPost(
    command: FailoverCommand,
    input: Pick<CommandInput, "user" | "channel">,
    respond: Respond,
  ): Promise<void> {
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
        // A Fence run has no root of its own: its thread (where Resume is offered) is the link.
        const thread = busy.rootTs ?? busy.threadTs;
        const link =
          busy.channel && thread
            ? await this.#permalink?.(busy.channel, thread).catch(() => undefined)
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
    root.ts().then(
      (ts) =>
        this.#lifecycle.journal
          .posted(plan, input.channel, ts)
          .catch((error: unknown) =>
            this.#log.error(
              { err: errorMessage(error) },
              "journal: could not record the posted message",
            ),
          ),
      (error: unknown) => this.#unposted(plan, input.channel, error, respond),
    );
  }

  /**
   * Slack refused the plan for good (the outbox gave up on it): nobody can approve what nobody
   * sees, so the request is withdrawn, which frees the cluster, and the requester is told why
   * and what to do. A post kept for later delivery (the bot stopping) is not refused.
   */
  async #unposted(
    plan: { runId: string; cluster: string },
    channel: string,
    error: unknown,
    respond: Respond,
  ): Promise<void> {
    const slackError = refusedBecause(error);
    if (slackError === undefined) return;
    const withdrawn = await this.#lifecycle.withdraw(plan.runId, `slack:${slackError}`).then(
      (done) => (done ? "withdrawn" : "decided"),
      (failure: unknown) => {
        this.#log.error(
          { runId: plan.runId, err: errorMessage(failure) },
          "could not withdraw a request whose plan Slack refused",
        );
        return "unrecorded" as const;
      },
    );
    const name = await this.#botName?.().catch(() => undefined);
    const invite = `/invite @${name ?? "redis-failover-bot"}`;
    const why =
      UNPOSTABLE[slackError]?.(`<#${channel}>`, invite) ?? `Slack answered \`${slackError}\``;
    const after = {
      withdrawn: `The request (run ${plan.runId}) was withdrawn, so \`${plan.cluster}\` is not blocked by it. Nothing was changed.`,
      decided: "Nothing was changed.",
      unrecorded: `The request (run ${plan.runId}) could not be withdrawn in the journal; it blocks \`${plan.cluster}\` until it expires. Nothing was changed.`,
    }[withdrawn];
    this.#log.warn({ runId: plan.runId, channel, slackError }, "the plan could not be posted");
    await respond({
      text: `:warning: The plan for \`${plan.cluster}\` could not be posted in <#${channel}>: ${why}. ${after}`,
    });
  }

  async #status(cluster: string, respond: Respond): Promise<void> {
    try {
      const [{ topology, assessment }, watches] = await Promise.all([
        this.#engine.status(cluster),
        this.#openWatches(cluster),
      ]);
      await respond(statusMessage(topology, assessment, undefined, watches));
    } catch (error) {
      await respond(errorContent(`cannot read ${cluster}: ${errorMessage(error)}`, false));
    }
  }

  /** The servers are shown even when the journal cannot be read: the watches are left out then. */
  async #openWatches(cluster: string): Promise<WatchHistory[]> {
    try {
      return openWatches(replayWatches(await this.#lifecycle.journal.store.read())).filter(
        (watch) => watch.cluster === cluster,
      );
    } catch (error) {
      this.#log.warn({ cluster, err: errorMessage(error) }, "status: watches not read");
      return [];
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
