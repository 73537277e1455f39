import type { Logger } from "pino";
import type { FailoverEngine } from "../engine/engine.js";
import { errorMessage } from "../errors.js";
import type { RunLifecycle } from "../runs/lifecycle.js";
import { viewOf } from "../runs/types.js";
import { PeriodicScan } from "../state/periodic-scan.js";
import { type RunHistory, resumePoint } from "../state/replay.js";
import type { RunJournal } from "../state/run-journal.js";
import type { ClusterLocks, Decisions } from "../state/types.js";
import { resumeOfferMessage } from "./blocks/resume-offer.js";
import type { RunMessages } from "./run-messages.js";

const OFFER_TTL_MS = 7 * 24 * 3600_000;

/**
 * Finds what a restart (or a dead sibling instance) left behind: requests still awaiting
 * approval are adopted so their buttons keep working; runs whose executor died (no run end
 * recorded, and nobody holds their cluster's lock any more) are offered for resumption in
 * their thread, once, whichever instance notices first.
 */
export interface RecoveryOptions {
  lifecycle: RunLifecycle;
  messages: RunMessages;
  engine: FailoverEngine;
  journal: RunJournal;
  locks: ClusterLocks;
  decisions: Decisions;
  log: Logger;
  instance: string;
  intervalMs: number;
}

export class Recovery {
  readonly #options: RecoveryOptions;
  readonly #log: Logger;
  readonly #scanner: PeriodicScan;

  constructor(options: RecoveryOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: "recovery" });
    this.#scanner = new PeriodicScan({
      pass: () => this.#scan(),
      log: this.#log,
      failure: "recovery scan failed",
    });
  }

  start(): void {
    void this.#scanner.start(this.#options.intervalMs);
  }

  stop(): Promise<void> {
    return this.#scanner.stop();
  }

  /** One pass over the journal; concurrent calls share the pass in progress. */
  scan(): Promise<void> {
    return this.#scanner.run();
  }

  async #scan(): Promise<void> {
    let runs: Map<string, RunHistory>;
    try {
      runs = await this.#options.journal.runs();
    } catch (error) {
      this.#log.error({ err: errorMessage(error) }, "cannot read the journal");
      return;
    }
    for (const run of runs.values()) {
      if (run.source !== "slack" || !run.channel) continue;
      try {
        if (run.state === "awaiting-approval") this.#options.lifecycle.adopt(run);
        else if (
          (run.state === "running" || run.state === "approved") &&
          !this.#options.lifecycle.isRunningHere(run.runId)
        ) {
          await this.#checkAlive(run);
        }
      } catch (error) {
        this.#log.error({ runId: run.runId, err: errorMessage(error) }, "recovery check failed");
      }
    }
  }

  async #checkAlive(snapshot: RunHistory): Promise<void> {
    const holder = await this.#options.locks.holder(snapshot.cluster);
    if (holder?.runId === snapshot.runId) return;
    // The scan's snapshot may predate the run's end: only a run still unfinished now, after
    // its lock was seen free, was really abandoned by its executor.
    const run = await this.#options.journal.run(snapshot.runId);
    if (
      !run ||
      (run.state !== "running" && run.state !== "approved") ||
      this.#options.lifecycle.isRunningHere(run.runId)
    )
      return;
    const claimed = await this.#options.decisions.claim(
      `interrupted:${run.runId}:${run.attempts}`,
      this.#options.instance,
      OFFER_TTL_MS,
    );
    if (!claimed) return;
    this.#log.warn(
      {
        runId: run.runId,
        attempt: run.attempts,
        step: run.inFlightStep?.index,
        lastInstance: run.instance,
      },
      "run interrupted: its executor is gone; offering Resume",
    );
    await this.#options.journal.interrupted(
      run.plan,
      this.#options.instance,
      run.inFlightStep?.index,
    );
    this.#options.messages.changed({ ...viewOf(run), state: "interrupted" });
    await this.#offer(run);
  }

  async #offer(run: RunHistory): Promise<void> {
    // A Fence run has no root of its own: it is offered in the thread it reported in.
    if (!run.channel || !(run.rootTs ?? run.threadTs)) return;
    const input: Parameters<typeof resumeOfferMessage>[0] = {
      runId: run.runId,
      totalSteps: run.plan.steps.length,
      resumeFrom: resumePoint(run),
      ...(run.inFlightStep ? { interruptedStep: run.inFlightStep } : {}),
      expiresAt: this.#options.lifecycle.resumeExpiresAt(Date.now()),
      ...(run.approver === run.requester ? { anyApprover: true } : {}),
    };
    try {
      const { topology, assessment } = await this.#options.engine.status(run.cluster);
      input.topology = topology;
      input.assessment = assessment;
    } catch (error) {
      input.topologyError = errorMessage(error);
    }
    this.#options.messages.reply(run, resumeOfferMessage(input));
  }
}
