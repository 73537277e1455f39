import type { RunEvent } from "../engine/events.js";
import { errorMessage } from "../errors.js";
import type { AttemptOptions } from "../state/run-coordinator.js";
import type { LockLease } from "../state/types.js";
import { ABORT_POLL_MS, RETRY_MS, type RunsContext, release } from "./context.js";
import type { ExecutingRun } from "./local-runs.js";
import { retryUntilDone } from "./retry.js";
import type { AttemptEnd, RunView } from "./types.js";

type Attempt = Omit<AttemptOptions, "signal" | "abortedBy" | "onEvent"> & {
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
};

/**
 * Executes one attempt of an approved run in this process, holding `lease` (released on every
 * path). Never rejects: whatever goes wrong is logged and shown on the run.
 */
export async function executeAttempt(
  context: RunsContext,
  view: RunView,
  lease: LockLease,
  attempt: Attempt,
): Promise<AttemptEnd | undefined> {
  const log = context.log.child({ runId: view.runId, attempt: attempt.attempt });
  const run: ExecutingRun = { view: { ...view, state: "running" }, abort: new AbortController() };
  if (attempt.signal) {
    const outer = attempt.signal;
    if (outer.aborted) run.abort.abort();
    else outer.addEventListener("abort", () => run.abort.abort(), { once: true });
  }
  context.local.executing.set(view.runId, run);
  const poll = setInterval(() => void pollAbort(context, run), ABORT_POLL_MS);
  poll.unref();
  let keepHandle: Promise<unknown> | undefined;
  try {
    context.observer.changed(run.view);
    const outcome = await context.coordinator.execute(view.plan, lease, {
      attempt: attempt.attempt,
      ...(attempt.fromStep ? { fromStep: attempt.fromStep } : {}),
      ...(attempt.facts ? { facts: attempt.facts } : {}),
      signal: run.abort.signal,
      abortedBy: () => run.abortedBy,
      onEvent: (event) => {
        if (event.type === "step-started") {
          run.view.currentStep = { index: event.step.index, title: event.step.title };
          context.observer.changed(run.view);
        }
        context.observer.event(run.view, event);
        attempt.onEvent?.(event);
      },
    });
    const { result, stoppedBecause, shutdown } = outcome;
    run.view.result = result;
    if (stoppedBecause && run.abortedBy) {
      // Aborted here while the control plane was down: the abort is recorded once it answers.
      run.view.state = "aborted";
      keepHandle = recordAbortedEnd(context, run, result);
    } else if (shutdown) {
      run.view.state = "interrupted";
      run.view.note =
        "The bot stopped for a restart before the next step. Nothing else was changed. The next start, or another instance, offers Resume in this thread.";
    } else if (stoppedBecause) {
      run.view.state = "interrupted";
      run.view.note = `Stopped before the next step: ${stoppedBecause}. Nothing else was changed. Once the state backend answers again, this run is offered for Resume in its thread.`;
    } else {
      run.view.state = result.ok ? "succeeded" : result.aborted ? "aborted" : "failed";
    }
    if (run.abortedBy) run.view.decidedBy = run.abortedBy;
    const end: AttemptEnd = {
      result,
      ...(stoppedBecause ? { stoppedBecause } : {}),
      ...(shutdown ? { shutdown } : {}),
      ...(run.abortedBy ? { abortedBy: run.abortedBy } : {}),
    };
    context.observer.ended(run.view, end);
    context.observer.changed(run.view);
    return end;
  } catch (error) {
    log.error({ err: errorMessage(error) }, "run crashed");
    run.view.note = `The bot failed while running: ${errorMessage(error)}. Check every server's role with /redis status ${view.cluster}.`;
    run.view.state = "failed";
    context.observer.changed(run.view);
    return undefined;
  } finally {
    clearInterval(poll);
    // Released already by the coordinator, unless the run never reached it.
    await release(context, lease);
    if (keepHandle) await keepHandle;
    context.local.executing.delete(view.runId);
  }
}

/** An Abort pressed on another instance reaches the run through the decisions store. */
async function pollAbort(context: RunsContext, run: ExecutingRun): Promise<void> {
  try {
    const by = await context.decisions.read(`abort:${run.view.runId}`);
    if (by && !run.abort.signal.aborted) abortHere(context, run, by);
  } catch (error) {
    context.log.debug(
      { runId: run.view.runId, err: errorMessage(error) },
      "abort poll: the state backend did not answer",
    );
  }
}

export function abortHere(context: RunsContext, run: ExecutingRun, by: string): void {
  run.abortedBy = by;
  run.view.decidedBy = by;
  run.view.note = `Abort requested by <@${by}>: the current step finishes, no further step runs.`;
  run.abort.abort();
  context.observer.changed(run.view);
}

function recordAbortedEnd(
  context: RunsContext,
  run: ExecutingRun,
  result: AttemptEnd["result"],
): Promise<boolean> {
  const { plan } = run.view;
  const by = run.abortedBy;
  return retryUntilDone(
    "recording an abort made while the state backend was down",
    () =>
      context.journal.store.append({
        type: "run-finished",
        runId: plan.runId,
        cluster: plan.cluster,
        at: context.now(),
        ok: false,
        aborted: true,
        ...(by ? { abortedBy: by } : {}),
        durationMs: result.durationMs,
        warnings: result.warnings,
        nextActions: result.nextActions,
      }),
    { log: context.log, intervalMs: RETRY_MS, signal: context.local.stopping.signal },
  );
}
