import type { RunHistory } from "./replay.js";
import type { RunState } from "./run-state.js";

export interface HistoryRow {
  runId: string;
  cluster: string;
  requestedAt: number;
  requester: string;
  approver?: string;
  mode: string;
  outcome: RunState;
  /** Run time, when it ran. */
  durationMs?: number;
  newMaster?: string;
  failedStep?: string;
}

/** The recent runs of a cluster, newest first: who asked, who approved, what, how it ended. */
export function historyRows(runs: Iterable<RunHistory>, cluster: string, limit = 20): HistoryRow[] {
  return [...runs]
    .filter((run) => run.cluster === cluster)
    .sort((a, b) => b.requestedAt - a.requestedAt)
    .slice(0, limit)
    .map((run) => {
      const row: HistoryRow = {
        runId: run.runId,
        cluster: run.cluster,
        requestedAt: run.requestedAt,
        requester: run.requester,
        mode: run.plan.mode,
        outcome: run.state,
      };
      if (run.approver) row.approver = run.approver;
      if (run.finished) row.durationMs = run.finished.durationMs;
      if (run.finished?.newMaster) row.newMaster = run.finished.newMaster.name;
      if (run.finished?.failedStep)
        row.failedStep = `${run.finished.failedStep.index}. ${run.finished.failedStep.title}`;
      return row;
    });
}
