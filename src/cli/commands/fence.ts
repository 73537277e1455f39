import type { FenceHint } from "../../plan/plan-fence.js";
import type { CliSession } from "../session.js";
import { presentAndRun, type RunFlags, requireConfirmation } from "./run-plan.js";

/** `fence <cluster>`: make an old master that came back a replica of the current master. */
export async function fenceCommand(
  session: CliSession,
  cluster: string,
  flags: RunFlags & { host?: string; inventory?: string },
  signal: AbortSignal,
): Promise<number> {
  const { engine } = await session.app(flags.inventory);
  engine.cluster(cluster);
  requireConfirmation(flags, session.io);
  return presentAndRun(
    session,
    await engine.planFence(
      cluster,
      flags.host,
      await lastRunHint(session, cluster, flags.inventory),
    ),
    cluster,
    flags,
    signal,
  );
}

/** The journal's last successful failover of the cluster: the first thing fence trusts. */
async function lastRunHint(
  session: CliSession,
  cluster: string,
  inventory: string | undefined,
): Promise<FenceHint> {
  const { journal } = await session.state(inventory);
  const last = [...(await journal.runs()).values()]
    .filter((run) => run.cluster === cluster && run.plan.mode !== "fence" && run.finished?.ok)
    .sort((a, b) => (b.finished?.at ?? 0) - (a.finished?.at ?? 0))[0];
  const newMaster = last?.finished?.newMaster;
  return last && newMaster ? { lastRun: { runId: last.runId, newMaster } } : {};
}
