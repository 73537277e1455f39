import type { FailoverEngine } from "../engine/engine.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../log/logger.js";
import type { RunCoordinator } from "../state/run-coordinator.js";
import type { RunJournal } from "../state/run-journal.js";
import type { Decisions, LockLease } from "../state/types.js";
import type { ApproverCheck } from "./approvers.js";
import type { LocalRuns } from "./local-runs.js";
import type { RunObserver } from "./types.js";

/** How long first-writer-wins decision keys are kept. */
export const DECISION_TTL_MS = 7 * 24 * 3600_000;
/** How often a running run looks for an Abort pressed on another instance. */
export const ABORT_POLL_MS = 1_000;
/** How often a record the control plane refused is tried again. */
export const RETRY_MS = 1_000;

/** What every lifecycle operation works with. */
export interface RunsContext {
  engine: FailoverEngine;
  journal: RunJournal;
  coordinator: RunCoordinator;
  decisions: Decisions;
  /** The two-person rule; absent for the break-glass CLI, whose operator confirms at the terminal. */
  approvers?: ApproverCheck;
  observer: RunObserver;
  log: Logger;
  approvalTimeoutMs: number;
  now: () => number;
  local: LocalRuns;
}

export function claim(context: RunsContext, key: string, value: string): Promise<boolean> {
  return context.decisions.claim(key, value, DECISION_TTL_MS);
}

/** Frees a lock; a failure only means the lease runs out by itself. */
export async function release(context: RunsContext, lease: LockLease): Promise<void> {
  await lease.release().catch((error: unknown) => {
    context.log.warn(
      { cluster: lease.cluster, err: errorMessage(error) },
      "could not release the cluster lock; it runs out by itself",
    );
  });
}

/** Whether `user` may act on a run as an approver (anyone, for the CLI). */
/**
 * Who a decision on an unfinished run (Resume, Dismiss) must not come from: its requester,
 * unless the requester approved it themselves. That is a watch's Fence button, which any
 * approver may press alone: whoever may press Fence may also resume or dismiss its run.
 */
export function secondPersonOf(run: { requester: string; approver?: string }): string {
  return run.approver === run.requester ? "" : run.requester;
}

export async function approverRefusal(
  context: RunsContext,
  cluster: string,
  user: string,
  requester: string,
): Promise<string | undefined> {
  if (!context.approvers) return undefined;
  const check = await context.approvers.check(
    context.engine.cluster(cluster).approvers,
    user,
    requester,
  );
  return check.ok ? undefined : check.reason;
}
