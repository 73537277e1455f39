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
 * handling as a run approved in Slack.
 */
export async function runNow(
  context: RunsContext,
  plan: Plan,
  operator: string,
  options: { signal: AbortSignal; onEvent: (event: RunEvent) => void },
): Promise<RunNowOutcome> {
  await context.journal.requested(plan, { source: "cli", requester: operator, dryRun: false });
  const lock = await context.coordinator.lock(plan);
  if (!lock.ok) {
    await context.journal.decided(plan, "rejected", "cli:cluster-locked");
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
      source: "cli",
      requester: operator,
      approver: operator,
      expiresAt: context.now(),
    },
    lock.lease,
    { attempt: 1, signal: options.signal, onEvent: options.onEvent },
  );
  if (!end) throw new Error("the run failed unexpectedly; see the log above");
  return { ok: true, end };
}
