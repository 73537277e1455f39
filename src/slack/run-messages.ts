import type { Logger } from "pino";
import type { RunEvent } from "../engine/events.js";
import type { AttemptEnd, RunObserver, RunView } from "../runs/types.js";
import { requestMessage } from "./blocks/request-message.js";
import { summaryMessage } from "./blocks/summary-message.js";
import type { SlackOutbox } from "./outbox.js";
import { ThreadReporter } from "./thread-reporter.js";
import type { MessageContent, MessageRef } from "./types.js";

/** States after which a root message changes no more. */
const FINAL = new Set([
  "dry-run",
  "rejected",
  "expired",
  "succeeded",
  "failed",
  "aborted",
  "dismissed",
]);

/**
 * Shows runs in Slack: the root (approval) message of each run, kept in step with its state,
 * and its thread (one reply per step, the summary). Holds only message refs and the thread
 * reporters of runs executing here; what a run is comes from the lifecycle.
 */
export class RunMessages implements RunObserver {
  readonly #outbox: SlackOutbox;
  readonly #log: Logger;
  readonly #roots = new Map<string, MessageRef>();
  readonly #threads = new Map<string, ThreadReporter>();
  readonly #approversOf: (cluster: string) => readonly string[];

  constructor(options: {
    outbox: SlackOutbox;
    log: Logger;
    /** A cluster's approvers (inventory), mentioned in its root messages while they wait. */
    approversOf?: (cluster: string) => readonly string[];
  }) {
    this.#outbox = options.outbox;
    this.#log = options.log.child({ component: "run-messages" });
    this.#approversOf = options.approversOf ?? (() => []);
  }

  /** Posts a new request's root message; resolves with its ts once Slack has it. */
  post(view: RunView & { channel: string }): MessageRef {
    const fitted = this.#rootMessage(view);
    // The run travels with its root: if a shutdown keeps the post in the journal, whoever
    // delivers it later records the run's `posted`.
    const root = this.#outbox.post(view.channel, fitted.content, {
      run: { runId: view.runId, cluster: view.cluster },
    });
    this.#roots.set(view.runId, root);
    if (fitted.overflow)
      this.#outbox.upload(view.channel, root, {
        ...fitted.overflow,
        content: fitted.overflow.text,
      });
    return root;
  }

  /** A reply in the run's thread (Resume offers, Dismiss offers, notices). */
  reply(
    view: Pick<RunView, "runId" | "channel" | "rootTs" | "threadTs">,
    content: MessageContent,
  ): void {
    const root = this.#thread(view);
    if (root && view.channel) this.#outbox.post(view.channel, content, { threadTs: root });
  }

  changed(view: RunView): void {
    const root = this.#root(view);
    if (root) this.#outbox.update(root, this.#rootMessage(view).content);
    if (FINAL.has(view.state)) this.#roots.delete(view.runId);
  }

  event(view: RunView, event: RunEvent): void {
    let reporter = this.#threads.get(view.runId);
    if (!reporter) {
      const root = this.#thread(view);
      if (!root || !view.channel) return;
      reporter = new ThreadReporter({
        outbox: this.#outbox,
        channel: view.channel,
        root,
        log: this.#log.child({ runId: view.runId }),
        totalSteps: view.plan.steps.length,
      });
      this.#threads.set(view.runId, reporter);
    }
    reporter.onEvent(event);
  }

  ended(view: RunView, end: AttemptEnd): void {
    this.#threads.delete(view.runId);
    if (end.shutdown && !end.abortedBy) {
      this.reply(view, {
        text: `:double_vertical_bar: Run ${view.runId} stopped before its next step: the bot stopped for a restart. The step in progress finished; nothing else was changed. The next start, or another instance, offers Resume in this thread (it re-checks every server first).`,
      });
      return;
    }
    if (end.stoppedBecause && !end.abortedBy) {
      this.reply(view, {
        text: `:warning: Run ${view.runId} stopped before its next step: ${end.stoppedBecause}. The step in progress finished; nothing else was changed. Once the state backend answers again, this thread offers Resume (it re-checks every server first).`,
      });
      return;
    }
    const summary = summaryMessage({
      plan: view.plan,
      result: end.result,
      requester: view.requester,
      ...(view.approver ? { approver: view.approver } : {}),
      ...(end.abortedBy ? { abortedBy: end.abortedBy } : {}),
      topologyBefore: view.plan.topology,
    });
    const root = this.#thread(view);
    if (!root || !view.channel) return;
    this.#outbox.post(view.channel, summary.content, { threadTs: root });
    if (summary.overflow)
      this.#outbox.upload(view.channel, root, {
        ...summary.overflow,
        content: summary.overflow.text,
      });
  }

  #rootMessage(view: RunView) {
    return requestMessage({ ...view, approvers: this.#approversOf(view.cluster) });
  }

  /** Where the run's replies go: its own root's thread, else the thread it reports in (Fence). */
  #thread(
    view: Pick<RunView, "runId" | "channel" | "rootTs" | "threadTs">,
  ): MessageRef | undefined {
    const root = this.#root(view);
    if (root) return root;
    // Never cached as a root: `changed` must not rewrite another message as this run's root.
    return view.channel && view.threadTs
      ? this.#outbox.existing(view.channel, view.threadTs)
      : undefined;
  }

  #root(view: Pick<RunView, "runId" | "channel" | "rootTs">): MessageRef | undefined {
    const known = this.#roots.get(view.runId);
    if (known) return known;
    if (!view.channel || !view.rootTs) return undefined;
    const root = this.#outbox.existing(view.channel, view.rootTs);
    this.#roots.set(view.runId, root);
    return root;
  }
}
