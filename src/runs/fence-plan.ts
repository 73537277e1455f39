import type { FailoverEngine } from "../engine/engine.js";
import type { FenceHint } from "../plan/plan-fence.js";
import type { PlanOutcome } from "../plan/types.js";
import type { RunJournal } from "../state/run-journal.js";

/**
 * Plans a fence the one way every front end does (the CLI's `fence`, Slack's Fence button):
 * the current master is the journal's last successful failover, then the discovery key, then
 * what the replicas follow. Changes nothing.
 */
export async function planFenceRun(
  engine: FailoverEngine,
  journal: RunJournal,
  cluster: string,
  host: string | undefined,
): Promise<PlanOutcome> {
  return engine.planFence(cluster, host, await lastRunHint(journal, cluster));
}

/** The journal's last successful failover of the cluster: the first thing fence trusts. */
export async function lastRunHint(journal: RunJournal, cluster: string): Promise<FenceHint> {
  const last = [...(await journal.runs()).values()]
    .filter((run) => run.cluster === cluster && run.plan.mode !== "fence" && run.finished?.ok)
    .sort((a, b) => (b.finished?.at ?? 0) - (a.finished?.at ?? 0))[0];
  const newMaster = last?.finished?.newMaster;
  return last && newMaster ? { lastRun: { runId: last.runId, newMaster } } : {};
}
