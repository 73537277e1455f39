import { hostname } from "node:os";
import type { Logger } from "pino";
import type { FailoverEngine } from "../engine/engine.js";
import type { RunEvent, RunEventListener, RunFacts, RunResult } from "../engine/events.js";
import { FailoverError } from "../errors.js";
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

/**
 * Thrown by `execute` when the bot is stopping (see `stopBeforeNextStep`): the step in progress
 * finished and was recorded, no further step ran, the lock was released, and the journal has no
 * end for the run, so whichever instance sees it next offers Resume, as after a crash.
 */
export class RunParked extends Error {
  constructor(
    readonly runId: string,
    readonly nextStep: number,
  ) {
    super(
      `The bot stopped (a restart or deploy) before step ${nextStep}; the run will be offered for Resume in this thread.`,
    );
    this.name = "RunParked";
  }
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
  readonly #parking = new AbortController();
  readonly #active = new Set<Promise<unknown>>();

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

  /** Shutdown: every run stops before its next step (the current one finishes) and is parked. */
  stopBeforeNextStep(): void {
    this.#parking.abort();
  }

  /** Resolves when no run is executing here. */
  async idle(): Promise<void> {
    while (this.#active.size > 0) await Promise.allSettled([...this.#active]);
  }

  /** Executes with `lease` held, then releases it. */
  execute(plan: Plan, lease: LockLease, options: AttemptOptions): Promise<RunResult> {
    const running = this.#execute(plan, lease, options);
    this.#active.add(running);
    void running.then(
      () => this.#active.delete(running),
      () => this.#active.delete(running),
    );
    return running;
  }

  async #execute(plan: Plan, lease: LockLease, options: AttemptOptions): Promise<RunResult> {
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
      const signal = options.signal ? AbortSignal.any([options.signal, lease.lost]) : lease.lost;
      log.info({ fromStep }, "run attempt started under the cluster lock");
      // Parked: nothing after the last finished step is recorded (the executor goes on to skip
      // the other steps and read the topology; that is not waited for).
      let parked: RunParked | undefined;
      let park: (reason: RunParked) => void = () => {};
      const parkedRun = new Promise<never>((_, reject) => {
        park = reject;
      });
      const run = this.#engine.execute(plan, {
        signal,
        ...(options.facts ? { facts: options.facts } : {}),
        ...(fromStep > 1 ? { fromStep } : {}),
        onEvent: (event: RunEvent) => {
          // A step about to be refused by the checkpoint below is not shown as started.
          if (parked || (event.type === "step-started" && this.#parking.signal.aborted)) return;
          recorder.onEvent(event);
          options.onEvent?.(event);
        },
        checkpoint: async (event, facts) => {
          if (parked) throw parked;
          if (event.type === "step-started") {
            if (this.#parking.signal.aborted) {
              parked = new RunParked(plan.runId, event.step.index);
              log.warn(
                { nextStep: event.step.index },
                "bot stopping: run parked before its next step",
              );
              park(parked);
              throw parked;
            }
            await this.#assertStillHolder(plan, lease);
          }
          await recorder.checkpoint(event, facts);
        },
      });
      void run.catch(() => undefined);
      return await Promise.race([run, parkedRun]);
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
