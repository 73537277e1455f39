import { errorMessage } from "../errors.js";
import type { Plan } from "../plan/types.js";
import type { RunHistory } from "../state/replay.js";
import { executeAttempt } from "./attempt.js";
import { approverRefusal, claim, type RunsContext, release } from "./context.js";
import { type Reply, type RunView, viewOf } from "./types.js";

/** Records a Slack request; it waits for a second person until it expires. */
export async function requestApproval(
  context: RunsContext,
  plan: Plan,
  details: { requester: string; channel: string; dryRun: boolean },
): Promise<RunView> {
  const expiresAt = context.now() + context.approvalTimeoutMs;
  await context.journal.requested(plan, {
    source: "slack",
    ...details,
    ...(details.dryRun ? {} : { expiresAt }),
  });
  if (!details.dryRun) scheduleExpiry(context, plan.runId, expiresAt);
  return {
    runId: plan.runId,
    cluster: plan.cluster,
    plan,
    state: details.dryRun ? "dry-run" : "awaiting-approval",
    source: "slack",
    requester: details.requester,
    channel: details.channel,
    expiresAt,
  };
}

/** After a restart: a request still awaiting approval expires on time here too. */
export function adoptPending(context: RunsContext, run: RunHistory): void {
  if (run.state === "awaiting-approval" && !run.dryRun)
    scheduleExpiry(context, run.runId, run.expiresAt ?? run.requestedAt);
}

function scheduleExpiry(context: RunsContext, runId: string, expiresAt: number): void {
  context.local.scheduleExpiry(runId, expiresAt - context.now(), () =>
    expire(context, runId).catch((error: unknown) =>
      context.log.error({ runId, err: errorMessage(error) }, "expiry could not be recorded"),
    ),
  );
}

export async function expire(context: RunsContext, runId: string): Promise<void> {
  const run = await context.journal.run(runId);
  if (run?.state !== "awaiting-approval") return;
  if (await claim(context, `decision:${runId}`, "expired")) {
    await context.journal.decided(run.plan, "expired");
  }
  const now = await context.journal.run(runId);
  if (now) context.observer.changed(viewOf(now));
}

/**
 * Ends a request nobody can act on (its plan could not be shown to approvers) as rejected by
 * `by`, a system actor such as "slack:not_in_channel", so that it no longer holds its cluster.
 * The same first-writer-wins decision as Approve and Reject: false if the request was already
 * decided, or is not awaiting approval (a dry run).
 */
export async function withdraw(context: RunsContext, runId: string, by: string): Promise<boolean> {
  const run = await context.journal.run(runId);
  if (run?.state !== "awaiting-approval") return false;
  if (!(await claim(context, `decision:${runId}`, `rejected:${by}`))) return false;
  await context.journal.decided(run.plan, "rejected", by);
  context.local.clearExpiry(runId);
  context.log.warn({ runId, by }, "request withdrawn: its plan could not be shown");
  return true;
}

/** A second person approves: the lock is taken, the decision recorded once, the run starts. */
export async function approve(context: RunsContext, runId: string, user: string): Promise<Reply> {
  const run = await decidable(context, runId);
  if ("message" in run) return run;
  const refusal = await approverRefusal(context, run.cluster, user, run.requester);
  if (refusal) {
    context.log.info({ runId, user, reason: refusal }, "approval refused");
    return { ok: false, message: `:no_entry: Not approved: ${refusal}.` };
  }
  const lock = await context.coordinator.lock(run.plan);
  if (!lock.ok) {
    return {
      ok: false,
      message:
        lock.holder.runId === runId
          ? "Nothing was done: this request was already approved and is running."
          : `Nothing was done: another failover of ${run.cluster} (run ${lock.holder.runId}) holds the cluster until it finishes.`,
    };
  }
  let started = false;
  try {
    if (!(await claim(context, `decision:${runId}`, `approved:${user}`))) {
      return {
        ok: false,
        message: "Nothing was done: this request was already decided by someone else.",
      };
    }
    await context.journal.decided(run.plan, "approved", user);
    context.local.clearExpiry(runId);
    started = true;
    context.local.track(
      executeAttempt(context, { ...viewOf(run), state: "approved", approver: user }, lock.lease, {
        attempt: 1,
      }),
    );
    return { ok: true };
  } catch (error) {
    context.log.error({ runId, err: errorMessage(error) }, "approval could not be recorded");
    return {
      ok: false,
      message: `:x: The approval could not be recorded (${errorMessage(error)}); nothing was run.`,
    };
  } finally {
    if (!started) await release(context, lock.lease);
  }
}

export async function reject(context: RunsContext, runId: string, user: string): Promise<Reply> {
  const run = await decidable(context, runId);
  if ("message" in run) return run;
  if (user !== run.requester) {
    const refusal = await approverRefusal(context, run.cluster, user, run.requester);
    if (refusal)
      return {
        ok: false,
        message: `:no_entry: Only the requester or an approver can reject: ${refusal}.`,
      };
  }
  if (!(await claim(context, `decision:${runId}`, `rejected:${user}`))) {
    return {
      ok: false,
      message: "Nothing was done: this request was already decided by someone else.",
    };
  }
  await context.journal.decided(run.plan, "rejected", user);
  context.local.clearExpiry(runId);
  context.observer.changed({ ...viewOf(run), state: "rejected", decidedBy: user });
  return { ok: true };
}

/** The run if it can still be decided (read fresh from the journal); otherwise why not. */
async function decidable(
  context: RunsContext,
  runId: string,
): Promise<RunHistory | { ok: false; message: string }> {
  const run = await context.journal.run(runId);
  if (!run) {
    return {
      ok: false,
      message: `This request (${runId}) is not in the journal; nothing was done. Start again with \`/redis failover\`.`,
    };
  }
  if (run.state === "awaiting-approval" && context.now() >= (run.expiresAt ?? 0)) {
    await expire(context, runId);
    return { ok: false, message: "Nothing was done: this request already expired." };
  }
  if (run.state !== "awaiting-approval") {
    context.log.info({ runId, state: run.state }, "late decision ignored");
    return { ok: false, message: `Nothing was done: this request was already ${stateText(run)}.` };
  }
  return run;
}

export function stateText(run: Pick<RunView, "state" | "approver" | "decidedBy">): string {
  switch (run.state) {
    case "awaiting-approval":
      return "awaiting approval";
    case "approved":
      return `approved by <@${run.approver}>`;
    case "rejected":
      return `rejected by <@${run.decidedBy}>`;
    default:
      return run.state;
  }
}
