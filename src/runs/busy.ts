import type { RunHistory } from "../state/replay.js";
import type { RunsContext } from "./context.js";

/**
 * A run that holds the cluster now or may soon: awaiting approval, approved, running, or
 * interrupted (it waits for Resume or Dismiss). A CLI run whose process died cannot be resumed
 * from Slack; once nobody holds its lock it no longer blocks new requests.
 */
export async function busyRun(
  context: RunsContext,
  cluster: string,
): Promise<RunHistory | undefined> {
  const runs = await context.journal.runs();
  for (const run of runs.values()) {
    if (run.cluster !== cluster) continue;
    const pending = run.state === "awaiting-approval" && (run.expiresAt ?? 0) > context.now();
    const active =
      run.state === "approved" || run.state === "running" || run.state === "interrupted";
    if (!pending && !active) continue;
    if (active && run.source === "cli" && !(await context.coordinator.isHeld(run))) continue;
    return run;
  }
  return undefined;
}
