import type { RunHistory } from "../state/replay.js";
import { replayWatches } from "../state/watches.js";
import { approverRefusal, type RunsContext } from "./context.js";
import { planFenceRun } from "./fence-plan.js";
import { runNow } from "./run-now.js";
import type { Reply } from "./types.js";

/** Where a fence run started by a button reports: a channel, and a thread of it. */
export type FenceThread = { channel: string; threadTs?: string };

/**
 * The Fence button of a watch: an approver of the cluster fences the watched host the way the
 * CLI's `fence` does (same plan, same durable run under the cluster's lock), recorded as
 * theirs. `threadFor` says where the watch reports (the watched run's thread): the fence run
 * is recorded as reporting there, so its steps, its summary and (after a crash) its Resume
 * offer all go to that thread.
 */
export async function fenceWatched(
  context: RunsContext,
  watchedRunId: string,
  user: string,
  threadFor: (watched: RunHistory | undefined) => FenceThread,
): Promise<Reply> {
  const watch = replayWatches(await context.journal.store.read({ runId: watchedRunId })).get(
    watchedRunId,
  );
  if (!watch)
    return {
      ok: false,
      message: `Nothing was done: run ${watchedRunId} has no watched old master.`,
    };
  const host = watch.host.name;
  if (watch.ended)
    return {
      ok: false,
      message: `Nothing was done: the watch on ${host} already ended (${watch.ended.detail}).`,
    };
  // Any listed approver may fence: nobody "requested" it, so no one is excluded as requester.
  const refusal = await approverRefusal(context, watch.cluster, user, "");
  if (refusal) {
    context.log.info({ runId: watchedRunId, user, reason: refusal }, "fence refused");
    return { ok: false, message: `:no_entry: Not fenced: ${refusal}.` };
  }
  const outcome = await planFenceRun(context.engine, context.journal, watch.cluster, host);
  if (!outcome.ok) {
    return {
      ok: false,
      message: `:no_entry: Nothing was done: fencing ${host} was refused: ${outcome.refusal.reason}${outcome.refusal.advice ? ` ${outcome.refusal.advice}` : ""}`,
    };
  }
  const watched = await context.journal.run(watchedRunId);
  const run = await runNow(context, outcome.plan, user, { slack: threadFor(watched) });
  if (!run.ok) {
    return {
      ok: false,
      message: `Nothing was done: another run of ${watch.cluster} (run ${run.holder.runId}) holds the cluster until it finishes. Press Fence again after it.`,
    };
  }
  return { ok: true };
}
