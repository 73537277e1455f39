import type { FailoverEngine } from "../engine/engine.js";
import type { RunEvent } from "../engine/events.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../log/logger.js";
import type { Plan } from "../plan/types.js";
import type { RunHistory } from "../state/replay.js";
import type { RunCoordinator } from "../state/run-coordinator.js";
import type { RunJournal } from "../state/run-journal.js";
import type { Decisions } from "../state/types.js";
import { abort } from "./abort.js";
import { adoptPending, approve, reject, requestApproval, withdraw } from "./approval.js";
import type { ApproverCheck } from "./approvers.js";
import { busyRun } from "./busy.js";
import type { RunsContext } from "./context.js";
import { dismiss } from "./dismiss.js";
import { LocalRuns } from "./local-runs.js";
import { resume, resumeExpiresAt } from "./resume.js";
import { type RunNowOutcome, runNow } from "./run-now.js";
import { NO_OBSERVER, type Reply, type RunObserver, type RunView } from "./types.js";
import { type FenceThread, fenceWatched } from "./watch-fence.js";

export interface RunLifecycleOptions {
  engine: FailoverEngine;
  journal: RunJournal;
  coordinator: RunCoordinator;
  decisions: Decisions;
  approvers?: ApproverCheck;
  observer?: RunObserver;
  log: Logger;
  /** How long a request (and a Resume offer) waits for an approver. */
  approvalTimeoutMs: number;
  now?: () => number;
}

/**
 * The run lifecycle, for every front end: request → approve | reject | expire → lock →
 * execute (abort) → succeeded | failed | aborted, or interrupted → resume | dismiss.
 * Run state is read from the journal only; this process keeps only handles (see LocalRuns).
 */
export class RunLifecycle {
  readonly #context: RunsContext;

  constructor(options: RunLifecycleOptions) {
    const log = options.log.child({ component: "runs" });
    this.#context = {
      engine: options.engine,
      journal: options.journal,
      coordinator: options.coordinator,
      decisions: options.decisions,
      ...(options.approvers ? { approvers: options.approvers } : {}),
      observer: options.observer ?? NO_OBSERVER,
      log,
      approvalTimeoutMs: options.approvalTimeoutMs,
      now: options.now ?? Date.now,
      local: new LocalRuns((error) =>
        log.error({ err: errorMessage(error) }, "background work of a run failed"),
      ),
    };
  }

  /** The front end that shows runs (set once, after both exist). */
  set observer(observer: RunObserver) {
    this.#context.observer = observer;
  }

  get journal(): RunJournal {
    return this.#context.journal;
  }

  request(
    plan: Plan,
    details: { requester: string; channel: string; dryRun: boolean },
  ): Promise<RunView> {
    return requestApproval(this.#context, plan, details);
  }

  /** The run that keeps a new request for `cluster` from starting, if any. */
  busyRun(cluster: string): Promise<RunHistory | undefined> {
    return busyRun(this.#context, cluster);
  }

  approve(runId: string, user: string): Promise<Reply> {
    return approve(this.#context, runId, user);
  }

  reject(runId: string, user: string): Promise<Reply> {
    return reject(this.#context, runId, user);
  }

  /** Ends a request whose plan nobody can see (Slack refused to post it); false if already decided. */
  withdraw(runId: string, by: string): Promise<boolean> {
    return withdraw(this.#context, runId, by);
  }

  abort(runId: string, user: string): Promise<Reply> {
    return abort(this.#context, runId, user);
  }

  resume(runId: string, user: string): Promise<Reply> {
    return resume(this.#context, runId, user);
  }

  /** When a Resume offer made at `offeredAt` expires. */
  resumeExpiresAt(offeredAt: number): number {
    return resumeExpiresAt(this.#context, offeredAt);
  }

  dismiss(runId: string, user: string, reason: string): Promise<Reply> {
    return dismiss(this.#context, runId, user, reason);
  }

  runNow(
    plan: Plan,
    operator: string,
    options: { signal?: AbortSignal; onEvent?: (event: RunEvent) => void },
  ): Promise<RunNowOutcome> {
    return runNow(this.#context, plan, operator, options);
  }

  /**
   * The Fence button of a watch: an approver fences the watched old master as the CLI's `fence`
   * would; the fence run reports in the thread `threadFor` names (it has no root message).
   */
  fenceWatched(
    watchedRunId: string,
    user: string,
    threadFor: (watched: RunHistory | undefined) => FenceThread,
  ): Promise<Reply> {
    return fenceWatched(this.#context, watchedRunId, user, threadFor);
  }

  /** After a restart: pending requests expire on time here too. */
  adopt(run: RunHistory): void {
    adoptPending(this.#context, run);
  }

  isRunningHere(runId: string): boolean {
    return this.#context.local.executing.has(runId);
  }

  /** Waits for runs executing here and records still being retried (shutdown, tests). */
  idle(): Promise<void> {
    return this.#context.local.idle();
  }

  /** Shutdown: expiry timers stop (another instance or the next start takes over). */
  stopTimers(): void {
    this.#context.local.stopTimers();
  }

  /** Shutdown: runs executing here finish; records the state backend still refuses are given up. */
  async stop(): Promise<void> {
    this.stopTimers();
    this.#context.local.stopping.abort();
    await this.idle();
  }
}
