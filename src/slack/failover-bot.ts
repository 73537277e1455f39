import type { Logger } from "pino";
import type { FailoverEngine } from "../engine/engine.js";
import { errorMessage, isFailoverError } from "../errors.js";
import type { FailoverRequest as EngineRequest } from "../plan/types.js";
import { historyRows } from "../state/history.js";
import { type RunHistory, resumePoint } from "../state/replay.js";
import { type AttemptOptions, type RunCoordinator, RunParked } from "../state/run-coordinator.js";
import type { RunJournal } from "../state/run-journal.js";
import type { Decisions, LockLease } from "../state/types.js";
import type { Approvers } from "./approvers.js";
import { errorMessage as errorContent, helpMessage } from "./blocks/help.js";
import { historyMessage } from "./blocks/history-message.js";
import { requestMessage } from "./blocks/request-message.js";
import { statusMessage } from "./blocks/status-message.js";
import { summaryMessage } from "./blocks/summary-message.js";
import type { SlackOutbox } from "./outbox.js";
import { parseSlashCommand, type SlashCommand } from "./parse-command.js";
import { type FailoverRequest, RequestRegistry, TERMINAL_STATES } from "./requests.js";
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
  journal: RunJournal;
  coordinator: RunCoordinator;
  decisions: Decisions;
  log: Logger;
  approvalTimeoutMs: number;
  /** A link to a message, for refusals that point at a run's thread. */
  permalink?: (channel: string, ts: string) => Promise<string | undefined>;
  now?: () => number;
}

/** How long first-writer-wins decision keys are kept. */
const DECISION_TTL_MS = 7 * 24 * 3600_000;
/** How often a running run looks for an Abort pressed on another bot instance. */
const ABORT_POLL_MS = 1_000;

/**
 * The Slack front end's logic, free of Bolt: commands in, decisions on buttons, runs out.
 * The journal is the source of truth (several bot instances may share it); each decision is
 * taken once across instances (first writer wins), and a run holds its cluster's lock.
 */
export class FailoverBot {
  readonly #options: FailoverBotOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #registry: RequestRegistry;
  /** Clusters between "failover" typed and the plan posted on this instance. */
  readonly #planning = new Set<string>();
  readonly #runs = new Set<Promise<void>>();

  constructor(options: FailoverBotOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: "slack-bot" });
    this.#now = options.now ?? Date.now;
    this.#registry = new RequestRegistry(options.log);
  }

  get registry(): RequestRegistry {
    return this.#registry;
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
        return {
          ack: { text: `:scroll: Reading the journal for ${command.cluster}…` },
          after: () => this.#history(command.cluster, respond),
        };
      case "failover":
        return this.#failover(command, input, respond);
    }
  }

  async approve(runId: string, user: string, channel: string): Promise<void> {
    const request = await this.#decidable(runId, user, channel);
    if (!request) return;
    const check = await this.#options.approvers.check(
      this.#approversOf(request),
      user,
      request.requester,
    );
    if (!check.ok) {
      this.#log.info({ runId, user, reason: check.reason }, "approval refused");
      await this.#ephemeral(channel, user, `:no_entry: Not approved: ${check.reason}.`);
      return;
    }
    const lease = await this.#lock(request, channel, user);
    if (!lease) return;
    if (!(await this.#claim(`decision:${runId}`, `approved:${user}`))) {
      await lease.release();
      await this.#ephemeral(
        channel,
        user,
        "Nothing was done: this request was already decided by someone else.",
      );
      return;
    }
    try {
      await this.#options.journal.decided(request.plan, "approved", user);
    } catch (error) {
      await lease.release();
      this.#log.error({ runId, err: errorMessage(error) }, "approval could not be recorded");
      await this.#ephemeral(
        channel,
        user,
        `:x: The approval could not be recorded in the journal (${errorMessage(error)}); nothing was run.`,
      );
      return;
    }
    this.#registry.transition(runId, "approved", { approver: user });
    clearTimeout(request.expiryTimer);
    this.#render(request);
    this.#track(this.#run(request, lease, { attempt: 1 }));
  }

  async reject(runId: string, user: string, channel: string): Promise<void> {
    const request = await this.#decidable(runId, user, channel);
    if (!request) return;
    if (user !== request.requester) {
      const check = await this.#options.approvers.check(
        this.#approversOf(request),
        user,
        request.requester,
      );
      if (!check.ok) {
        await this.#ephemeral(
          channel,
          user,
          `:no_entry: Only the requester or an approver can reject: ${check.reason}.`,
        );
        return;
      }
    }
    if (!(await this.#claim(`decision:${runId}`, `rejected:${user}`))) {
      await this.#ephemeral(
        channel,
        user,
        "Nothing was done: this request was already decided by someone else.",
      );
      return;
    }
    await this.#options.journal
      .decided(request.plan, "rejected", user)
      .catch((error: unknown) => this.#journalTrouble(error, "rejection"));
    this.#registry.transition(runId, "rejected", { decidedBy: user });
    clearTimeout(request.expiryTimer);
    this.#render(request);
  }

  async abort(runId: string, user: string, channel: string): Promise<void> {
    const here = this.#registry.get(runId);
    const run = here?.abort
      ? {
          state: "running" as const,
          requester: here.requester,
          approver: here.approver,
          cluster: here.cluster,
        }
      : await this.#options.journal.run(runId);
    if (run?.state !== "running") {
      await this.#ephemeral(channel, user, "There is no running failover to abort here.");
      return;
    }
    if (user !== run.requester && user !== run.approver) {
      const check = await this.#options.approvers.check(
        this.#approversOfCluster(run.cluster),
        user,
        run.requester,
      );
      if (!check.ok) {
        await this.#ephemeral(
          channel,
          user,
          `:no_entry: Only the requester or an approver can abort: ${check.reason}.`,
        );
        return;
      }
    }
    // The flag reaches the run wherever it executes; this instance also stops at once if it is here.
    await this.#claim(`abort:${runId}`, user);
    this.#log.warn({ runId, user }, "abort requested");
    const local = this.#registry.get(runId);
    if (local?.abort && !local.abort.signal.aborted) {
      local.decidedBy = user;
      local.note = `Abort requested by <@${user}>: the current step finishes, no further step runs.`;
      local.abort.abort();
      this.#render(local);
    }
  }

  async resume(runId: string, user: string, channel: string): Promise<void> {
    const run = await this.#options.journal.run(runId);
    if (run?.state !== "interrupted") {
      await this.#ephemeral(
        channel,
        user,
        `Nothing was done: this run is ${run ? run.state : "not known"}, not interrupted.`,
      );
      return;
    }
    const check = await this.#options.approvers.check(
      this.#approversOfCluster(run.cluster),
      user,
      run.requester,
    );
    if (!check.ok) {
      await this.#ephemeral(channel, user, `:no_entry: Not resumed: ${check.reason}.`);
      return;
    }
    const request = this.adopt(run);
    request.state = "interrupted";
    const lease = await this.#lock(request, channel, user);
    if (!lease) return;
    if (!(await this.#claim(`resume:${runId}:${run.attempts}`, user))) {
      await lease.release();
      await this.#ephemeral(channel, user, "Nothing was done: someone already resumed this run.");
      return;
    }
    await this.#options.journal.decided(run.plan, "resumed", user);
    this.#registry.transition(runId, "approved", {});
    this.#log.warn(
      { runId, user, fromStep: resumePoint(run), attempt: run.attempts + 1 },
      "run resumed",
    );
    this.#track(
      this.#run(request, lease, {
        attempt: run.attempts + 1,
        fromStep: resumePoint(run),
        facts: run.facts,
      }),
    );
  }

  /** Makes a request known again after a restart (pending approvals keep working), or expires it. */
  adopt(run: RunHistory): FailoverRequest {
    const existing = this.#registry.get(run.runId);
    if (existing) return existing;
    const request = this.#fromHistory(run);
    this.#registry.add(request);
    if (request.state === "awaiting-approval") {
      const left = request.expiresAt - this.#now();
      request.expiryTimer = setTimeout(() => void this.#expire(request.runId), Math.max(0, left));
      request.expiryTimer.unref();
    }
    return request;
  }

  /** Shows on the root message that a run was interrupted (its thread gets the Resume offer). */
  markInterrupted(run: RunHistory): void {
    const request = this.adopt(run);
    request.state = "interrupted";
    if (run.inFlightStep) request.currentStep = run.inFlightStep;
    this.#render(request);
  }

  /** Whether this instance is executing the run right now. */
  isRunningHere(runId: string): boolean {
    return this.#registry.get(runId)?.abort !== undefined;
  }

  /** Waits for runs in progress (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.#runs.size > 0) await Promise.allSettled([...this.#runs]);
    await this.#options.outbox.flush();
  }

  /** Stops expiry timers (shutdown): another instance or the next start takes over. */
  stopTimers(): void {
    for (const request of this.#registry.all()) clearTimeout(request.expiryTimer);
  }

  #checkCluster(
    command: Exclude<SlashCommand, { kind: "help" }>,
    channel: string,
  ): string | undefined {
    const inventory = this.#options.engine.inventory;
    const cluster = inventory.clusters.get(command.cluster);
    if (!cluster) {
      return `unknown cluster \`${command.cluster}\`; known clusters: ${[...inventory.clusters.keys()].map((name) => `\`${name}\``).join(", ")}`;
    }
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
    const local = this.#registry.activeFor(command.cluster);
    if (!command.dryRun && (local || this.#planning.has(command.cluster))) {
      return {
        ack: errorContent(
          local
            ? `a failover of \`${command.cluster}\` is already ${this.#stateText(local)} (run ${local.runId}); see its thread in <#${local.channel}>`
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
    if (!command.dryRun) {
      const busy = await this.#busyRun(command.cluster);
      if (busy) {
        const link =
          busy.channel && busy.rootTs
            ? await this.#options.permalink?.(busy.channel, busy.rootTs).catch(() => undefined)
            : undefined;
        await respond(
          errorContent(
            `a failover of \`${command.cluster}\` is already ${busy.state} (run ${busy.runId}, asked by <@${busy.requester}>)${link ? `: ${link}` : ""}. Nothing was changed.`,
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
    const expiresAt = this.#now() + this.#options.approvalTimeoutMs;
    try {
      await this.#options.journal.requested(plan, {
        source: "slack",
        requester: input.user,
        channel: input.channel,
        dryRun: command.dryRun,
        ...(command.dryRun ? {} : { expiresAt }),
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
    const failoverRequest: FailoverRequest = {
      runId: plan.runId,
      cluster: plan.cluster,
      plan,
      state: command.dryRun ? "dry-run" : "awaiting-approval",
      requester: input.user,
      channel: input.channel,
      createdAt: this.#now(),
      expiresAt,
    };
    this.#registry.add(failoverRequest);
    this.#post(failoverRequest);
    if (!command.dryRun) {
      failoverRequest.expiryTimer = setTimeout(
        () => void this.#expire(plan.runId),
        this.#options.approvalTimeoutMs,
      );
      failoverRequest.expiryTimer.unref();
    }
  }

  #post(request: FailoverRequest): void {
    const fitted = requestMessage(request);
    const root = this.#options.outbox.post(request.channel, fitted.content, { run: request.plan });
    request.root = root;
    if (fitted.overflow)
      this.#options.outbox.upload(request.channel, root, {
        ...fitted.overflow,
        content: fitted.overflow.text,
      });
    root
      .ts()
      .then((ts) => this.#options.journal.posted(request.plan, request.channel, ts))
      .catch((error: unknown) => this.#journalTrouble(error, "posted message"));
  }

  async #status(cluster: string, respond: Respond): Promise<void> {
    try {
      const { topology, assessment } = await this.#options.engine.status(cluster);
      await respond(statusMessage(topology, assessment));
    } catch (error) {
      await respond(errorContent(`cannot read ${cluster}: ${errorMessage(error)}`, false));
    }
  }

  async #history(cluster: string, respond: Respond): Promise<void> {
    try {
      const runs = await this.#options.journal.runs();
      await respond(historyMessage(cluster, historyRows(runs.values(), cluster)));
    } catch (error) {
      await respond(errorContent(`cannot read the journal: ${errorMessage(error)}`, false));
    }
  }

  /**
   * A run that holds the cluster now or may soon: awaiting approval, approved, running, or
   * interrupted (it waits for Resume in its thread). A CLI run whose process died cannot be
   * resumed from Slack; once nobody holds its lock it no longer blocks new requests.
   */
  async #busyRun(cluster: string): Promise<RunHistory | undefined> {
    const runs = await this.#options.journal.runs();
    for (const run of runs.values()) {
      if (run.cluster !== cluster) continue;
      const pending = run.state === "awaiting-approval" && (run.expiresAt ?? 0) > this.#now();
      const active =
        run.state === "approved" || run.state === "running" || run.state === "interrupted";
      if (!pending && !active) continue;
      if (active && run.source === "cli" && !(await this.#options.coordinator.isHeld(run)))
        continue;
      return run;
    }
    return undefined;
  }

  /** The request if it can still be decided (read fresh from the journal); otherwise says why not. */
  async #decidable(
    runId: string,
    user: string,
    channel: string,
  ): Promise<FailoverRequest | undefined> {
    const run = await this.#options.journal.run(runId).catch((error: unknown) => {
      this.#journalTrouble(error, "read");
      return undefined;
    });
    if (!run) {
      await this.#ephemeral(
        channel,
        user,
        `This request (${runId}) is not in the journal; nothing was done. Start again with \`/redis failover\`.`,
      );
      return undefined;
    }
    const request = this.adopt(run);
    if (run.state !== request.state && TERMINAL_STATES.has(run.state))
      Object.assign(request, { state: run.state });
    if (run.state === "awaiting-approval" && this.#now() >= (run.expiresAt ?? 0))
      await this.#expire(runId);
    if (request.state !== "awaiting-approval" || run.state !== "awaiting-approval") {
      this.#log.info({ runId, user, state: run.state }, "late decision ignored");
      await this.#ephemeral(
        channel,
        user,
        `Nothing was done: this request was already ${this.#stateText(request)}.`,
      );
      return undefined;
    }
    return request;
  }

  async #lock(
    request: FailoverRequest,
    channel: string,
    user: string,
  ): Promise<LockLease | undefined> {
    const acquired = await this.#options.coordinator.lock(request.plan);
    if (acquired.ok) return acquired.lease;
    const holder = acquired.holder;
    await this.#ephemeral(
      channel,
      user,
      holder.runId === request.runId
        ? "Nothing was done: this request was already approved and is running."
        : `Nothing was done: another failover of ${request.cluster} (run ${holder.runId}) holds the cluster until it finishes.`,
    );
    return undefined;
  }

  async #expire(runId: string): Promise<void> {
    const request = this.#registry.get(runId);
    if (request?.state !== "awaiting-approval") return;
    if (await this.#claim(`decision:${runId}`, "expired")) {
      await this.#options.journal
        .decided(request.plan, "expired")
        .catch((error: unknown) => this.#journalTrouble(error, "expiry"));
    }
    if (this.#registry.transition(runId, "expired")) this.#render(request);
  }

  async #run(request: FailoverRequest, lease: LockLease, attempt: AttemptOptions): Promise<void> {
    const abort = new AbortController();
    this.#registry.transition(request.runId, "running", { abort });
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
    const abortWatch = setInterval(() => {
      void this.#options.decisions.read(`abort:${request.runId}`).then((by: string | undefined) => {
        if (by && !abort.signal.aborted) {
          request.decidedBy = by;
          request.note = `Abort requested by <@${by}>: the current step finishes, no further step runs.`;
          abort.abort();
          this.#render(request);
        }
      });
    }, ABORT_POLL_MS);
    abortWatch.unref();
    try {
      const result = await this.#options.coordinator.execute(request.plan, lease, {
        ...attempt,
        signal: abort.signal,
        abortedBy: () => request.decidedBy,
        onEvent: (event) => {
          reporter.onEvent(event);
          if (event.type === "step-started") {
            request.currentStep = { index: event.step.index, title: event.step.title };
            this.#render(request);
          }
        },
      });
      const state = result.ok ? "succeeded" : result.aborted ? "aborted" : "failed";
      this.#registry.transition(request.runId, state, { result });
      const summary = summaryMessage({
        plan: request.plan,
        result,
        requester: request.requester,
        ...(request.approver ? { approver: request.approver } : {}),
        ...(result.aborted && request.decidedBy ? { abortedBy: request.decidedBy } : {}),
        topologyBefore: request.plan.topology,
      });
      this.#options.outbox.post(request.channel, summary.content, { threadTs: root });
      if (summary.overflow)
        this.#options.outbox.upload(request.channel, root, {
          ...summary.overflow,
          content: summary.overflow.text,
        });
    } catch (error) {
      // Parked by a shutdown: the next instance offers Resume (see RunCoordinator.stopBeforeNextStep).
      if (error instanceof RunParked)
        return void this.#registry.transition(request.runId, "interrupted", {
          note: error.message,
        });
      this.#log.error({ runId: request.runId, err: errorMessage(error) }, "run crashed");
      request.note = `The bot failed while running: ${errorMessage(error)}. Check every server's role with /redis status ${request.cluster}.`;
      this.#registry.transition(request.runId, "failed");
    } finally {
      clearInterval(abortWatch);
      delete request.abort;
      this.#render(request);
    }
  }

  #fromHistory(run: RunHistory): FailoverRequest {
    const request: FailoverRequest = {
      runId: run.runId,
      cluster: run.cluster,
      plan: run.plan,
      state: run.state,
      requester: run.requester,
      channel: run.channel ?? "",
      createdAt: run.requestedAt,
      expiresAt: run.expiresAt ?? run.requestedAt,
    };
    if (run.approver) request.approver = run.approver;
    if (run.decidedBy) request.decidedBy = run.decidedBy;
    if (run.inFlightStep) request.currentStep = run.inFlightStep;
    if (run.channel && run.rootTs)
      request.root = this.#options.outbox.existing(run.channel, run.rootTs);
    return request;
  }

  #approversOf(request: Pick<FailoverRequest, "cluster">): string[] {
    return this.#approversOfCluster(request.cluster);
  }

  #approversOfCluster(cluster: string): string[] {
    return this.#options.engine.cluster(cluster).approvers;
  }

  #render(request: FailoverRequest): void {
    if (request.root) this.#options.outbox.update(request.root, requestMessage(request).content);
  }

  #track(run: Promise<void>): void {
    this.#runs.add(run);
    void run.finally(() => this.#runs.delete(run));
  }

  #claim(key: string, value: string): Promise<boolean> {
    return this.#options.decisions.claim(key, value, DECISION_TTL_MS);
  }

  async #ephemeral(channel: string, user: string, text: string): Promise<void> {
    await this.#options.outbox.postEphemeral(channel, user, { text });
  }

  #journalTrouble(error: unknown, what: string): void {
    this.#log.error({ err: errorMessage(error) }, `journal: could not record the ${what}`);
  }

  #stateText(request: Pick<FailoverRequest, "state" | "approver" | "decidedBy">): string {
    switch (request.state) {
      case "awaiting-approval":
        return "awaiting approval";
      case "approved":
        return `approved by <@${request.approver}>`;
      case "rejected":
        return `rejected by <@${request.decidedBy}>`;
      default:
        return request.state;
    }
  }
}
