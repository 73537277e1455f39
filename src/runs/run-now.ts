import type { RunEvent } from "../engine/events.js";
import type { Plan } from "../plan/types.js";
import type { LockHolder } from "../state/types.js";
import { executeAttempt } from "./attempt.js";
import { type RunsContext, release } from "./context.js";
import type { AttemptEnd } from "./types.js";

export type RunNowOutcome = { ok: true; end: AttemptEnd } | { ok: false; holder: LockHolder };

/**
 * The break-glass path (CLI): the operator confirmed at the terminal, so the request is
 * recorded as approved by them and runs at once, under the same lock, journal and abort
 * handling as a run approved in Slack. Slack's Fence button takes the same path: the approver
 * who pressed it is the operator.
 */
export async function runNow(
  context: RunsContext,
  plan: Plan,
  operator: string,
  options: {
    signal?: AbortSignal;
    onEvent?: (event: RunEvent) => void;
    /**
     * A run started by an approver's button in Slack (Fence): recorded as theirs, in that
     * channel, reporting in `threadTs` (it has no root message of its own).
     */
    slack?: { channel: string; threadTs?: string };
  },
): Promise<RunNowOutcome> {
  const source = options.slack ? "slack" : "cli";
  await context.journal.requested(plan, {
    source,
    requester: operator,
    dryRun: false,
    ...(options.slack ? { channel: options.slack.channel } : {}),
    ...(options.slack?.threadTs ? { threadTs: options.slack.threadTs } : {}),
  });
  const lock = await context.coordinator.lock(plan);
  if (!lock.ok) {
    await context.journal.decided(plan, "rejected", `${source}:cluster-locked`);
    return { ok: false, holder: lock.holder };
  }
  try {
    await context.journal.decided(plan, "approved", operator);
  } catch (error) {
    await release(context, lock.lease);
    throw error;
  }
  const end = await executeAttempt(
    context,
    {
      runId: plan.runId,
      cluster: plan.cluster,
      plan,
      state: "approved",
      source,
      requester: operator,
      approver: operator,
      expiresAt: context.now(),
      ...(options.slack ? { channel: options.slack.channel } : {}),
      ...(options.slack?.threadTs ? { threadTs: options.slack.threadTs } : {}),
    },
    lock.lease,
    {
      attempt: 1,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    },
  );
  if (!end) throw new Error("the run failed unexpectedly; see the log above");
  return { ok: true, end };
}
