import { confirmByTypingName } from "../confirm.js";
import { write } from "../io.js";
import type { CliSession } from "../session.js";
import { UsageError } from "../usage-error.js";
import { type RunFlags, requireConfirmation } from "./run-plan.js";

/**
 * `dismiss <cluster> <runId> --reason <text>`: abandon an unfinished run (interrupted, or whose
 * executor died), recorded with who and why, so the cluster can be planned again.
 */
export async function dismissCommand(
  session: CliSession,
  cluster: string,
  runId: string,
  flags: Pick<RunFlags, "yes"> & { reason?: string; inventory?: string },
): Promise<number> {
  const reason = flags.reason?.trim();
  if (!reason) throw new UsageError("--reason <text> is required: the journal records why");
  const { engine } = await session.app(flags.inventory);
  engine.cluster(cluster);
  requireConfirmation(flags, session.io);
  const { journal, lifecycle } = await session.state(flags.inventory);
  const run = await journal.run(runId);
  if (!run || run.cluster !== cluster) {
    write(
      session.io.stderr,
      `Refused: no run ${runId} of ${cluster} in the journal. Nothing was changed.`,
    );
    return 1;
  }
  write(
    session.io.stdout,
    `Run ${runId} of ${cluster} (${run.plan.mode}, asked by ${run.requester}) is ${run.state}${run.inFlightStep ? ` at step ${run.inFlightStep.index}: ${run.inFlightStep.title}` : ""}.`,
  );
  if (!flags.yes && !(await confirmByTypingName(session.io, cluster))) {
    write(session.io.stderr, "Cancelled: nothing was changed.");
    return 1;
  }
  const reply = await lifecycle.dismiss(runId, session.operator, reason);
  if (!reply.ok) {
    write(session.io.stderr, `Refused: ${reply.message.replace(/^:\w+: /, "")}`);
    return 1;
  }
  write(
    session.io.stdout,
    `Dismissed run ${runId}: ${cluster} can be planned again. Check every server's role first (\`redis-failover status ${cluster}\`).`,
  );
  return 0;
}
