import type { RunEvent, RunResult } from "../engine/events.js";
import type { Plan } from "../plan/types.js";
import type { RunHistory } from "../state/replay.js";
import type { RunState } from "../state/run-state.js";

/** A run as front ends show it: the journal's view, plus what only its executor knows live. */
export interface RunView {
  runId: string;
  cluster: string;
  plan: Plan;
  state: RunState;
  source: "slack" | "cli";
  requester: string;
  approver?: string;
  /** Who rejected, aborted or dismissed. */
  decidedBy?: string;
  /** Unix ms after which approval is no longer possible. */
  expiresAt: number;
  channel?: string;
  rootTs?: string;
  /** No root message of its own: the thread it reports in (a Fence run, in the watched run's thread). */
  threadTs?: string;
  /** While running: the step in progress. */
  currentStep?: { index: number; title: string };
  result?: RunResult;
  /** A line under the state (why a run stopped, who pressed Abort). */
  note?: string;
}

export function viewOf(run: RunHistory): RunView {
  return {
    runId: run.runId,
    cluster: run.cluster,
    plan: run.plan,
    state: run.state,
    source: run.source,
    requester: run.requester,
    expiresAt: run.expiresAt ?? run.requestedAt,
    ...(run.approver ? { approver: run.approver } : {}),
    ...(run.decidedBy ? { decidedBy: run.decidedBy } : {}),
    ...(run.channel ? { channel: run.channel } : {}),
    ...(run.rootTs ? { rootTs: run.rootTs } : {}),
    ...(run.threadTs ? { threadTs: run.threadTs } : {}),
    ...(run.inFlightStep ? { currentStep: run.inFlightStep } : {}),
    ...(run.dismissReason ? { note: `Dismissed: ${run.dismissReason}` } : {}),
  };
}

/** The answer to whoever pressed a button or typed a command: shown to them only. */
export type Reply =
  | { ok: true; message?: string }
  | {
      ok: false;
      message: string;
      /** Resume found the premises changed: what changed; the front end offers Dismiss. */
      changed?: string[];
      /** The run can be dismissed (offer the button). */
      dismissable?: boolean;
    };

/** How an attempt run in this process ended. */
export interface AttemptEnd {
  result: RunResult;
  /** The lease or the journal could not be confirmed: the run stopped before its next step. */
  stoppedBecause?: string;
  /** The stop was this bot shutting down (a restart or deploy), not the control plane. */
  shutdown?: true;
  abortedBy?: string;
}

/** What a front end shows of runs: told by the lifecycle, never asked back. */
export interface RunObserver {
  /** The run's state or live position changed. */
  changed(view: RunView): void;
  /** An engine event of an attempt executing in this process. */
  event(view: RunView, event: RunEvent): void;
  /** An attempt executing in this process ended. */
  ended(view: RunView, end: AttemptEnd): void;
}

export const NO_OBSERVER: RunObserver = {
  changed: () => {},
  event: () => {},
  ended: () => {},
};
