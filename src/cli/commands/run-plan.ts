import { renderPlanText, renderRefusalText } from "../../plan/render-text.js";
import type { PlanOutcome } from "../../plan/types.js";
import { confirmByTypingName } from "../confirm.js";
import { type CliIo, write } from "../io.js";
import { planLine, refusalLine, resultLine, StepLines } from "../render/json-lines.js";
import { runEventText, runSummaryText } from "../render/run-text.js";
import type { CliSession } from "../session.js";
import { UsageError } from "../usage-error.js";

export interface RunFlags {
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
}

/** Refuses early when nobody could confirm: without a terminal, --yes is the confirmation. */
export function requireConfirmation(flags: RunFlags, io: CliIo): void {
  if (!flags.dryRun && !flags.yes && !io.interactive) {
    throw new UsageError(
      "refusing to act without a terminal to confirm on; pass --yes to confirm non-interactively (or --dry-run to only see the plan)",
    );
  }
}

/**
 * Shows the plan (or the refusal), asks for confirmation, then runs it the durable way: recorded
 * in the journal and under the cluster's lock, like a run approved in Slack.
 */
export async function presentAndRun(
  session: CliSession,
  outcome: PlanOutcome,
  cluster: string,
  flags: RunFlags,
  signal: AbortSignal,
): Promise<number> {
  const io = session.io;
  if (!outcome.ok) {
    if (flags.json) write(io.stdout, refusalLine(outcome.refusal, cluster));
    else write(io.stderr, renderRefusalText(outcome.refusal));
    return 1;
  }
  const plan = outcome.plan;
  write(io.stdout, flags.json ? planLine(plan) : renderPlanText(plan));
  if (flags.dryRun) {
    if (!flags.json) write(io.stdout, "\nDry run: nothing was changed.");
    return 0;
  }
  if (!flags.yes && !(await confirmByTypingName(io, cluster))) {
    write(io.stderr, "Cancelled: nothing was changed.");
    return 1;
  }
  const { lifecycle } = await session.state();
  const stepLines = new StepLines();
  const run = await lifecycle.runNow(plan, session.operator, {
    signal,
    onEvent: (event) => {
      const line = flags.json ? stepLines.lineFor(event) : runEventText(event, plan.steps.length);
      if (line !== undefined) write(io.stdout, line);
    },
  });
  if (!run.ok) {
    const holder = run.holder;
    const message = `Refused: another failover of ${cluster} (run ${holder.runId}, on ${holder.instance}) holds the cluster until ${new Date(holder.expiresAt).toISOString()} or until it finishes. Nothing was changed.`;
    if (flags.json) write(io.stdout, refusalLine({ reason: message }, cluster));
    else write(io.stderr, message);
    return 1;
  }
  const { result, stoppedBecause } = run.end;
  write(io.stdout, flags.json ? resultLine(result) : runSummaryText(result));
  if (stoppedBecause)
    write(
      io.stderr,
      `The run stopped before its next step: ${stoppedBecause}. Nothing else was changed; once the state backend answers, resume it from Slack or dismiss it with \`redis-failover dismiss ${cluster} ${plan.runId} --reason <text>\`.`,
    );
  return result.ok && !stoppedBecause ? 0 : 1;
}
