import type { Logger } from "pino";
import type { FailoverEngine } from "../engine/engine.js";
import { errorMessage, isFailoverError } from "../errors.js";
import type { FailoverRequest as EngineRequest } from "../plan/types.js";
import type { Approvers } from "./approvers.js";
import { errorMessage as errorContent, helpMessage } from "./blocks/help.js";
import { requestMessage } from "./blocks/request-message.js";
import { statusMessage } from "./blocks/status-message.js";
import { summaryMessage } from "./blocks/summary-message.js";
import type { SlackOutbox } from "./outbox.js";
import { parseSlashCommand, type SlashCommand } from "./parse-command.js";
import type { FailoverRequest, RequestRegistry } from "./requests.js";
import { ThreadReporter } from "./thread-reporter.js";
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

export interface FailoverBotOptions {
  engine: FailoverEngine;
  outbox: SlackOutbox;
  approvers: Approvers;
  registry: RequestRegistry;
  log: Logger;
  approvalTimeoutMs: number;
  now?: () => number;
}

/**
 * The Slack front end's logic, free of Bolt: commands in, decisions on buttons, runs out.
 * Every decision is logged, and each request moves only through the registry's transitions.
 */
export class FailoverBot {
  readonly #options: FailoverBotOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  /** Clusters between "failover" typed and the plan posted: a second request must wait. */
  readonly #planning = new Set<string>();
  readonly #runs = new Set<Promise<void>>();

  constructor(options: FailoverBotOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: "slack-bot" });
    this.#now = options.now ?? Date.now;
  }

  command(input: CommandInput, respond: Respond): CommandOutcome {
    const parsed = parseSlashCommand(input.text);
    this.#log.info({ user: input.user, channel: input.channel, ok: parsed.ok }, "slash command");
    if (!parsed.ok) return { ack: errorContent(parsed.error, true) };
    const command = parsed.command;
    if (command.kind === "help") return { ack: helpMessage() };
    const refusal = this.#checkCluster(command, input.channel);
    if (refusal) return { ack: errorContent(refusal, true) };
    switch (command.kind) {
      case "status":
        return {
          ack: { text: `:mag: Reading the topology of ${command.cluster}…` },
          after: () => this.#status(command.cluster, respond),
        };
      case "history":
        return { ack: errorContent("history is not available yet", false) };
      case "failover":
        return this.#failover(command, input, respond);
    }
  }

  async approve(runId: string, user: string, channel: string): Promise<void> {
    const request = await this.#decidable(runId, user, channel, "approve");
    if (!request) return;
    const cluster = this.#options.engine.cluster(request.cluster);
    const check = await this.#options.approvers.check(cluster.approvers, user, request.requester);
    if (!check.ok) {
      this.#log.info({ runId, user, reason: check.reason }, "approval refused");
      await this.#ephemeral(channel, user, `:no_entry: Not approved: ${check.reason}.`);
      return;
    }
    if (!this.#options.registry.transition(runId, "approved", { approver: user })) {
      await this.#ephemeral(channel, user, `This request was already ${this.#stateText(request)}.`);
      return;
    }
    clearTimeout(request.expiryTimer);
    this.#render(request);
    this.#track(this.#run(request));
  }

  async reject(runId: string, user: string, channel: string): Promise<void> {
    const request = await this.#decidable(runId, user, channel, "reject");
    if (!request) return;
    if (user !== request.requester) {
      const cluster = this.#options.engine.cluster(request.cluster);
      const check = await this.#options.approvers.check(cluster.approvers, user, request.requester);
      if (!check.ok) {
        await this.#ephemeral(
          channel,
          user,
          `:no_entry: Only the requester or an approver can reject: ${check.reason}.`,
        );
        return;
      }
    }
    if (!this.#options.registry.transition(runId, "rejected", { decidedBy: user })) {
      await this.#ephemeral(channel, user, `This request was already ${this.#stateText(request)}.`);
      return;
    }
    clearTimeout(request.expiryTimer);
    this.#render(request);
  }

  async abort(runId: string, user: string, channel: string): Promise<void> {
    const request = this.#options.registry.get(runId);
    if (!request || request.state !== "running" || !request.abort) {
      await this.#ephemeral(channel, user, "There is no running failover to abort here.");
      return;
    }
    const cluster = this.#options.engine.cluster(request.cluster);
    if (user !== request.requester && user !== request.approver) {
      const check = await this.#options.approvers.check(cluster.approvers, user, request.requester);
      if (!check.ok) {
        await this.#ephemeral(
          channel,
          user,
          `:no_entry: Only the requester or an approver can abort: ${check.reason}.`,
        );
        return;
      }
    }
    if (request.abort.signal.aborted) return;
    this.#log.warn({ runId, user }, "abort requested");
    request.decidedBy = user;
    request.note = `Abort requested by <@${user}>: the current step finishes, no further step runs.`;
    request.abort.abort();
    this.#render(request);
  }

  /** Waits for runs in progress (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.#runs.size > 0) await Promise.allSettled([...this.#runs]);
    await this.#options.outbox.flush();
  }

  #checkCluster(
    command: Exclude<SlashCommand, { kind: "help" }>,
    channel: string,
  ): string | undefined {
    const inventory = this.#options.engine.inventory;
    const cluster = inventory.clusters.get(command.cluster);
    if (!cluster)
      return `unknown cluster \`${command.cluster}\`; known clusters: ${[...inventory.clusters.keys()].map((name) => `\`${name}\``).join(", ")}`;
    if (cluster.channels.length > 0 && !cluster.channels.includes(channel)) {
      return `cluster \`${cluster.name}\` can only be acted on from ${cluster.channels.map((id) => `<#${id}>`).join(", ")}`;
    }
    return undefined;
  }

  #failover(
    command: Extract<SlashCommand, { kind: "failover" }>,
    input: CommandInput,
    respond: Respond,
  ): CommandOutcome {
    const busy = this.#options.registry.activeFor(command.cluster);
    if (!command.dryRun && (busy || this.#planning.has(command.cluster))) {
      return {
        ack: errorContent(
          busy
            ? `a failover of \`${command.cluster}\` is already ${this.#stateText(busy)} (run ${busy.runId}); see its thread in <#${busy.channel}>`
            : `a failover of \`${command.cluster}\` is being planned right now; wait for its plan`,
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

  async #planAndPost(
    command: Extract<SlashCommand, { kind: "failover" }>,
    input: CommandInput,
    respond: Respond,
  ): Promise<void> {
    const request: EngineRequest = { cluster: command.cluster };
    if (command.mode) request.mode = command.mode;
    if (command.spare) request.spare = command.spare;
    if (command.replica) request.replica = command.replica;
    let outcome: Awaited<ReturnType<FailoverEngine["plan"]>>;
    try {
      outcome = await this.#options.engine.plan(request);
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
    const failoverRequest: FailoverRequest = {
      runId: plan.runId,
      cluster: plan.cluster,
      plan,
      state: command.dryRun ? "dry-run" : "awaiting-approval",
      requester: input.user,
      channel: input.channel,
      createdAt: this.#now(),
      expiresAt: this.#now() + this.#options.approvalTimeoutMs,
    };
    this.#options.registry.add(failoverRequest);
    const fitted = requestMessage(failoverRequest);
    failoverRequest.root = this.#options.outbox.post(input.channel, fitted.content);
    if (fitted.overflow) {
      this.#options.outbox.upload(input.channel, failoverRequest.root, {
        ...fitted.overflow,
        content: fitted.overflow.text,
      });
    }
    if (!command.dryRun) {
      failoverRequest.expiryTimer = setTimeout(
        () => this.#expire(plan.runId),
        this.#options.approvalTimeoutMs,
      );
      failoverRequest.expiryTimer.unref();
    }
  }

  async #status(cluster: string, respond: Respond): Promise<void> {
    try {
      const { topology, assessment } = await this.#options.engine.status(cluster);
      await respond(statusMessage(topology, assessment));
    } catch (error) {
      await respond(errorContent(`cannot read ${cluster}: ${errorMessage(error)}`, false));
    }
  }

  /** The request if it can still be decided; otherwise tells the clicker why not. */
  async #decidable(
    runId: string,
    user: string,
    channel: string,
    action: string,
  ): Promise<FailoverRequest | undefined> {
    const request = this.#options.registry.get(runId);
    if (!request) {
      await this.#ephemeral(
        channel,
        user,
        `This request (${runId}) is not known to the bot any more; nothing was done. Start again with \`/redis failover\`.`,
      );
      return undefined;
    }
    if (request.state === "awaiting-approval" && this.#now() >= request.expiresAt)
      this.#expire(runId);
    if (request.state !== "awaiting-approval") {
      this.#log.info({ runId, user, action, state: request.state }, "late decision ignored");
      await this.#ephemeral(
        channel,
        user,
        `Nothing was done: this request was already ${this.#stateText(request)}.`,
      );
      return undefined;
    }
    return request;
  }

  #expire(runId: string): void {
    const request = this.#options.registry.get(runId);
    if (request && this.#options.registry.transition(runId, "expired")) this.#render(request);
  }

  async #run(request: FailoverRequest): Promise<void> {
    const abort = new AbortController();
    this.#options.registry.transition(request.runId, "running", { abort });
    this.#render(request);
    const root = request.root;
    if (!root) throw new Error(`request ${request.runId} has no root message`);
    const reporter = new ThreadReporter({
      outbox: this.#options.outbox,
      channel: request.channel,
      root,
      log: this.#log.child({ runId: request.runId }),
      totalSteps: request.plan.steps.length,
    });
    try {
      const result = await this.#options.engine.execute(request.plan, {
        signal: abort.signal,
        onEvent: (event) => {
          reporter.onEvent(event);
          if (event.type === "step-started") {
            request.currentStep = { index: event.step.index, title: event.step.title };
            this.#render(request);
          }
        },
      });
      const state = result.ok ? "succeeded" : result.aborted ? "aborted" : "failed";
      this.#options.registry.transition(request.runId, state, { result });
      const summary = summaryMessage({
        plan: request.plan,
        result,
        requester: request.requester,
        ...(request.approver ? { approver: request.approver } : {}),
        topologyBefore: request.plan.topology,
      });
      this.#options.outbox.post(request.channel, summary.content, { threadTs: root });
      if (summary.overflow)
        this.#options.outbox.upload(request.channel, root, {
          ...summary.overflow,
          content: summary.overflow.text,
        });
    } catch (error) {
      this.#log.error({ runId: request.runId, err: errorMessage(error) }, "run crashed");
      request.note = `The bot failed while running: ${errorMessage(error)}. Check every server's role with /redis status ${request.cluster}.`;
      this.#options.registry.transition(request.runId, "failed");
    } finally {
      delete request.abort;
      this.#render(request);
    }
  }

  #render(request: FailoverRequest): void {
    if (request.root) this.#options.outbox.update(request.root, requestMessage(request).content);
  }

  #track(run: Promise<void>): void {
    this.#runs.add(run);
    void run.finally(() => this.#runs.delete(run));
  }

  async #ephemeral(channel: string, user: string, text: string): Promise<void> {
    await this.#options.outbox.postEphemeral(channel, user, { text });
  }

  #stateText(request: FailoverRequest): string {
    switch (request.state) {
      case "awaiting-approval":
        return "awaiting approval";
      case "approved":
        return `approved by <@${request.approver}>`;
      case "running":
        return "running";
      case "rejected":
        return `rejected by <@${request.decidedBy}>`;
      default:
        return request.state;
    }
  }
}
