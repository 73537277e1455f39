import type { FailoverEngine } from "../../engine/engine.js";
import { renderPlanText, renderRefusalText } from "../../plan/render-text.js";
import type { FailoverRequest, Mode } from "../../plan/types.js";
import { confirmByTypingName } from "../confirm.js";
import { type CliIo, write } from "../io.js";
import { planLine, refusalLine, resultLine, StepLines } from "../render/json-lines.js";
import { runEventText, runSummaryText } from "../render/run-text.js";
import { UsageError } from "../usage-error.js";

export interface FailoverFlags {
  mode?: Mode;
  spare?: string;
  replica?: string;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
}

/** `failover <cluster>`: preflight and plan, confirmation, then the run with live output. */
export async function failoverCommand(
  engine: FailoverEngine,
  cluster: string,
  flags: FailoverFlags,
  io: CliIo,
  signal: AbortSignal,
): Promise<number> {
  engine.cluster(cluster);
  if (!flags.dryRun && !flags.yes && !io.interactive) {
    throw new UsageError(
      "refusing to fail over without a terminal to confirm on; pass --yes to confirm non-interactively (or --dry-run to only see the plan)",
    );
  }
  const request: FailoverRequest = { cluster };
  if (flags.mode) request.mode = flags.mode;
  if (flags.spare) request.spare = flags.spare;
  if (flags.replica) request.replica = flags.replica;

  const outcome = await engine.plan(request);
  if (!outcome.ok) {
    write(
      flags.json ? io.stdout : io.stderr,
      flags.json ? refusalLine(outcome.refusal, cluster) : renderRefusalText(outcome.refusal),
    );
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
