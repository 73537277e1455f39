import type { FailoverEngine } from "../../engine/engine.js";
import { renderPlanText, renderRefusalText } from "../../plan/render-text.js";
import type { PlanOutcome } from "../../plan/types.js";
import { confirmByTypingName } from "../confirm.js";
import { type CliIo, write } from "../io.js";
import { planLine, refusalLine, resultLine, StepLines } from "../render/json-lines.js";
import { runEventText, runSummaryText } from "../render/run-text.js";
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

/** Shows the plan (or the refusal), asks for confirmation, runs it with live output, reports. */
export async function presentAndRun(
  engine: FailoverEngine,
  outcome: PlanOutcome,
  cluster: string,
  flags: RunFlags,
  io: CliIo,
  signal: AbortSignal,
): Promise<number> {
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
  const stepLines = new StepLines();
  const result = await engine.execute(plan, {
    signal,
    onEvent: (event) => {
      const line = flags.json ? stepLines.lineFor(event) : runEventText(event, plan.steps.length);
      if (line !== undefined) write(io.stdout, line);
    },
  });
  write(io.stdout, flags.json ? resultLine(result) : runSummaryText(result));
  return result.ok ? 0 : 1;
}
