import { resumeProblems } from "../engine/resume-premises.js";
import { errorMessage } from "../errors.js";
import { resumePoint } from "../state/replay.js";
import { executeAttempt } from "./attempt.js";
import { approverRefusal, claim, type RunsContext, release, secondPersonOf } from "./context.js";
import { type Reply, viewOf } from "./types.js";

/** When a Resume offer stops being valid: like an approval, it expires. */
export function resumeExpiresAt(context: RunsContext, interruptedAt: number | undefined): number {
  return (interruptedAt ?? context.now()) + context.approvalTimeoutMs;
}

/**
 * Resume: an approver continues an interrupted run. Under the cluster's lock it first
 * re-checks the premises of the steps that remain; if anything changed it changes nothing,
 * says what changed, and offers Dismiss.
 */
export async function resume(context: RunsContext, runId: string, user: string): Promise<Reply> {
  const run = await context.journal.run(runId);
  if (run?.state !== "interrupted") {
    return {
      ok: false,
      message: `Nothing was done: this run is ${run ? run.state : "not known"}, not interrupted.`,
    };
  }
  const refusal = await approverRefusal(context, run.cluster, user, secondPersonOf(run));
  if (refusal) return { ok: false, message: `:no_entry: Not resumed: ${refusal}.` };
  const expiresAt = resumeExpiresAt(context, run.interruptedAt);
  if (context.now() >= expiresAt) {
    return {
      ok: false,
      dismissable: true,
      message: `Nothing was done: this Resume offer expired at ${new Date(expiresAt).toISOString()}. Check every server with \`/redis status ${run.cluster}\`, then Dismiss the run to unblock the cluster and plan again.`,
    };
  }
  const lock = await context.coordinator.lock(run.plan);
  if (!lock.ok) {
    return {
      ok: false,
      message: `Nothing was done: run ${lock.holder.runId} holds the cluster (someone already resumed this run, or another failover runs).`,
    };
  }
  let started = false;
  try {
    const fromStep = resumePoint(run);
    const { topology } = await context.engine.status(run.cluster);
    const changed = resumeProblems(
      run.plan,
      topology,
      fromStep,
      run.inFlightStep?.index === fromStep,
    );
    if (changed.length > 0) {
      context.log.warn({ runId, user, changed }, "resume refused: the topology changed");
      return {
        ok: false,
        changed,
        dismissable: true,
        message: `Nothing was done: the servers changed since this run stopped, so its remaining steps no longer fit.`,
      };
    }
    if (!(await claim(context, `resume:${runId}:${run.attempts}`, user))) {
      return { ok: false, message: "Nothing was done: someone already resumed this run." };
    }
    await context.journal.decided(run.plan, "resumed", user);
    context.log.warn({ runId, user, fromStep, attempt: run.attempts + 1 }, "run resumed");
    started = true;
    context.local.track(
      executeAttempt(context, viewOf(run), lock.lease, {
        attempt: run.attempts + 1,
        fromStep,
        facts: run.facts,
      }),
    );
    return { ok: true };
  } catch (error) {
    context.log.error({ runId, err: errorMessage(error) }, "resume failed");
    return { ok: false, message: `:x: Nothing was resumed: ${errorMessage(error)}.` };
  } finally {
    if (!started) await release(context, lock.lease);
  }
}
