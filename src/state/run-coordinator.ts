import { hostname } from "node:os";
import type { Logger } from "pino";
import type { FailoverEngine } from "../engine/engine.js";
import type { RunEvent, RunEventListener, RunFacts, RunResult } from "../engine/events.js";
import { errorMessage, FailoverError } from "../errors.js";
import type { Plan } from "../plan/types.js";
import type { RunJournal } from "./run-journal.js";
import type { AcquireResult, ClusterLocks, LockLease } from "./types.js";

export interface AttemptOptions {
  /** 1 for the first run, +1 for each resume. */
  attempt: number;
  fromStep?: number;
  facts?: RunFacts;
  signal?: AbortSignal;
  onEvent?: RunEventListener;
  /** Who pressed Abort, for the journal. */
  abortedBy?: () => string | undefined;
}

/** How an attempt ended; `stoppedBecause` when the lease or the journal could not be confirmed. */
export interface AttemptOutcome {
  result: RunResult;
  /**
   * Set when the run stopped before a step because the lock could not be confirmed or the
   * journal could not be written (a frozen or restarting control plane). Nothing more was
   * recorded for this attempt: the journal shows it unfinished, so it can be resumed.
   */
  stoppedBecause?: string;
  /** The stop was this process shutting down (see `RunCoordinator.stopBeforeNextStep`). */
  shutdown?: true;
}

/** A name for this process in the journal and in lock holders: host, pid and a random suffix. */
export function instanceName(): string {
  return `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * Runs a plan the durable way, for every front end: under the cluster's lock, recorded in the
 * journal before each step acts, and fenced: before each step the lock must still be ours
 * (same fencing token), or the step does not run.
 */
export class RunCoordinator {
  readonly instance: string;
  readonly #engine: FailoverEngine;
  readonly #journal: RunJournal;
  readonly #locks: ClusterLocks;
  readonly #leaseMs: number;
  readonly #log: Logger;
  /** Set once this process is stopping: why runs stop before their next step. */
  #shutdown: string | undefined;

  constructor(options: {
    engine: FailoverEngine;
    journal: RunJournal;
    locks: ClusterLocks;
    leaseMs: number;
    log: Logger;
    instance?: string;
  }) {
    this.#engine = options.engine;
    this.#journal = options.journal;
    this.#locks = options.locks;
    this.#leaseMs = options.leaseMs;
    this.#log = options.log.child({ component: "runs" });
    this.instance = options.instance ?? instanceName();
  }

  lock(plan: Pick<Plan, "runId" | "cluster">): Promise<AcquireResult> {
    return this.#locks.acquire(
      plan.cluster,
      { runId: plan.runId, instance: this.instance },
      this.#leaseMs,
    );
  }

  /** Whether some executor holds the cluster's lock for this run right now. */
  async isHeld(plan: Pick<Plan, "runId" | "cluster">): Promise<boolean> {
    return (await this.#locks.holder(plan.cluster))?.runId === plan.runId;
  }

  /**
   * Shutdown: every run executing here finishes its step in progress and stops before the next
   * one, as when the lock cannot be confirmed: its journal stays unfinished and its lock is
   * released, so another instance or the next start offers Resume, as after a crash.
   */
  stopBeforeNextStep(reason: string): void {
    this.#shutdown ??= reason;
  }

  /**
   * Executes with `lease` held, then releases it (on every path). Losing the lease does not
   * interrupt the step in progress; the next step only starts once the lock is confirmed ours.
   */
  async execute(plan: Plan, lease: LockLease, options: AttemptOptions): Promise<AttemptOutcome> {
    const log = this.#log.child({
      runId: plan.runId,
      attempt: options.attempt,
      fencingToken: lease.fencingToken,
    });
    const fromStep = options.fromStep ?? 1;
    try {
      await this.#journal.runStarted(plan, {
        instance: this.instance,
        fencingToken: lease.fencingToken,
        attempt: options.attempt,
        fromStep,
      });
      const recorder = this.#journal.recorder(plan, options.abortedBy);
      log.info({ fromStep }, "run attempt started under the cluster lock");
      let stoppedBecause: string | undefined;
      let shutdown = false;
      const result = await this.#engine.execute(plan, {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.facts ? { facts: options.facts } : {}),
        ...(fromStep > 1 ? { fromStep } : {}),
        onEvent: (event: RunEvent) => {
          // Stopped by a shutdown: the step refused below and the skipped rest are not shown.
          // (The executor calls the checkpoint right after this, with nothing in between.)
          if (shutdown || (event.type === "step-started" && this.#shutdown !== undefined)) return;
          recorder.onEvent(event);
          options.onEvent?.(event);
        },
        checkpoint: async (event, facts) => {
          // After a stop the journal keeps the attempt unfinished: it is offered for Resume.
          if (stoppedBecause) return;
          if (event.type === "step-started" && this.#shutdown !== undefined) {
            stoppedBecause = this.#shutdown;
            shutdown = true;
            log.warn(
              { nextStep: event.step.index },
              "bot stopping: run stopped before its next step",
            );
            throw new FailoverError("ABORTED", stoppedBecause);
          }
          try {
            if (event.type === "step-started") await this.#assertStillHolder(plan, lease);
            await recorder.checkpoint(event, facts);
          } catch (error) {
            stoppedBecause = errorMessage(error);
            log.error({ event: event.type, err: stoppedBecause }, "run stopped: lease or journal");
            throw error;
          }
        },
      });
      if (!stoppedBecause) return { result };
      return shutdown ? { result, stoppedBecause, shutdown: true } : { result, stoppedBecause };
    } finally {
      await lease
        .release()
        .catch((error: unknown) =>
          log.warn({ err: String(error) }, "could not release the cluster lock"),
        );
    }
  }

  async #assertStillHolder(plan: Pick<Plan, "runId" | "cluster">, lease: LockLease): Promise<void> {
    if (lease.lost.aborted) {
      throw new FailoverError(
        "ABORTED",
        `the lock on ${plan.cluster} was lost (${String(lease.lost.reason ?? "lease expired")})`,
      );
    }
    const holder = await this.#locks.holder(plan.cluster);
    if (!holder || holder.runId !== plan.runId || holder.fencingToken !== lease.fencingToken) {
      throw new FailoverError(
        "ABORTED",
        `the lock on ${plan.cluster} is no longer this run's (now ${holder ? `run ${holder.runId}, token ${holder.fencingToken}` : "free"}; ours was token ${lease.fencingToken})`,
      );
    }
  }
}
