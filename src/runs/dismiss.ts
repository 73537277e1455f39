import { errorMessage } from "../errors.js";
import { approverRefusal, claim, type RunsContext, release, secondPersonOf } from "./context.js";
import { type Reply, viewOf } from "./types.js";

/**
 * Dismiss: an approver abandons an unfinished run (interrupted, or whose executor is gone),
 * recording who and why; the cluster is free for a new plan. Taken under the cluster's lock,
 * so no executor can be running it meanwhile.
 */
export async function dismiss(
  context: RunsContext,
  runId: string,
  user: string,
  reason: string,
): Promise<Reply> {
  const run = await context.journal.run(runId);
  const unfinished =
    run?.state === "interrupted" || run?.state === "running" || run?.state === "approved";
  if (!run || !unfinished) {
    return {
      ok: false,
      message: `Nothing was done: this run is ${run ? run.state : "not known"}; only an unfinished run can be dismissed.`,
    };
  }
  if (context.local.executing.has(runId))
    return { ok: false, message: "Nothing was done: this run is executing; use Abort." };
  const refusal = await approverRefusal(context, run.cluster, user, secondPersonOf(run));
  if (refusal) return { ok: false, message: `:no_entry: Not dismissed: ${refusal}.` };
  const lock = await context.coordinator.lock(run.plan);
  if (!lock.ok) {
    return {
      ok: false,
      message: `Nothing was done: run ${lock.holder.runId} holds the cluster (on ${lock.holder.instance}); a run that is executing cannot be dismissed.`,
    };
  }
  try {
    if (!(await claim(context, `dismiss:${runId}`, user)))
      return { ok: false, message: "Nothing was done: someone already dismissed this run." };
    await context.journal.dismissed(run.plan, user, reason);
    context.local.clearExpiry(runId);
    context.log.warn({ runId, user, reason }, "run dismissed");
    const now = await context.journal.run(runId);
    if (now) context.observer.changed(viewOf(now));
    return { ok: true };
  } catch (error) {
    return { ok: false, message: `:x: Not dismissed: ${errorMessage(error)}.` };
  } finally {
    await release(context, lock.lease);
  }
}
