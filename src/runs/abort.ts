import { errorMessage } from "../errors.js";
import { abortHere } from "./attempt.js";
import { approverRefusal, claim, RETRY_MS, type RunsContext } from "./context.js";
import { retryUntilDone } from "./retry.js";
import type { Reply } from "./types.js";

/**
 * Abort: stops the run before its next step. A run executing here is stopped at once, before
 * anything is recorded, so Abort works while the state backend is down; the record follows
 * (retried until the backend answers) and reaches runs executing on other instances.
 */
export async function abort(context: RunsContext, runId: string, user: string): Promise<Reply> {
  const here = context.local.executing.get(runId);
  if (here) {
    if (here.abort.signal.aborted) return { ok: true, message: "This run is already stopping." };
    const { view } = here;
    if (user !== view.requester && user !== view.approver) {
      const refusal = await approverRefusal(context, view.cluster, user, view.requester);
      if (refusal) return refusedAbort(refusal);
    }
    context.log.warn({ runId, user }, "abort requested");
    abortHere(context, here, user);
    context.local.track(
      retryUntilDone("recording an abort", () => claim(context, `abort:${runId}`, user).then(), {
        log: context.log.child({ runId }),
        intervalMs: RETRY_MS,
        signal: context.local.stopping.signal,
      }),
    );
    return { ok: true };
  }
  let run: Awaited<ReturnType<RunsContext["journal"]["run"]>>;
  try {
    run = await context.journal.run(runId);
  } catch (error) {
    return {
      ok: false,
      message: `:x: Nothing was done: the run is not executing on this bot instance and the state backend did not answer (${errorMessage(error)}). Try again in a moment.`,
    };
  }
  if (run?.state !== "running")
    return { ok: false, message: "There is no running failover to abort here." };
  if (user !== run.requester && user !== run.approver) {
    const refusal = await approverRefusal(context, run.cluster, user, run.requester);
    if (refusal) return refusedAbort(refusal);
  }
  await claim(context, `abort:${runId}`, user);
  context.log.warn({ runId, user }, "abort requested for a run on another instance");
  return { ok: true };
}

function refusedAbort(reason: string): Reply {
  return {
    ok: false,
    message: `:no_entry: Only the requester or an approver can abort: ${reason}.`,
  };
}
