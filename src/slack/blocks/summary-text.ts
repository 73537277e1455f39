import type { RunResult, StepRecord } from "../../engine/events.js";
import { seconds } from "../../format/time-text.js";
import type { Plan } from "../../plan/types.js";
import { describeNode } from "../../topology/describe.js";
import type { Topology } from "../../topology/types.js";
import { utcText } from "./escape.js";
import { failedStep } from "./state-line.js";

export interface SummaryInput {
  plan: Plan;
  result: RunResult;
  /** Slack user ids. */
  requester: string;
  approver?: string;
  /** Who pressed Abort, when the run was aborted. */
  abortedBy?: string;
  topologyBefore: Topology;
}

export type Outcome = "succeeded" | "failed" | "aborted";

export function outcomeOf(result: RunResult): Outcome {
  return result.ok ? "succeeded" : result.aborted ? "aborted" : "failed";
}

/** One line on how the run ended (plain text). */
export function outcomeText(input: SummaryInput): string {
  const { plan, result } = input;
  const total = plan.steps.length;
  const mode = result.mode.toUpperCase();
  switch (outcomeOf(result)) {
    case "succeeded": {
      const master = result.newMaster ?? plan.newMaster;
      return `Succeeded (${mode}) in ${seconds(result.durationMs)}: ${master.name} (${master.host}:${master.port}) is the new master.`;
    }
    case "aborted": {
      const done = result.steps.filter((step) => step.status === "ok").length;
      return `Aborted${input.abortedBy ? ` by ${input.abortedBy}` : ""} after ${done} of ${total} steps (${mode}, ${seconds(result.durationMs)}).`;
    }
    case "failed": {
      const failed = failedStep(result);
      return failed
        ? `Failed at step ${failed.index} of ${total} (${failed.title}) after ${seconds(result.durationMs)}: ${failed.error}`
        : `Failed after ${seconds(result.durationMs)}.`;
    }
  }
}

export function stepLine(step: StepRecord): string {
  const time = step.durationMs !== undefined ? ` (${seconds(step.durationMs)})` : "";
  switch (step.status) {
    case "ok":
      return `✓ ${step.index}. ${step.title}${time}`;
    case "failed":
      return `✗ ${step.index}. ${step.title}${time}: ${step.error ?? "failed"}`;
    case "skipped":
      return `↷ ${step.index}. ${step.title}: skipped${step.reason ? ` — ${step.reason}` : ""}`;
    case "running":
      return `… ${step.index}. ${step.title}: did not finish`;
  }
}

/** The whole summary as plain text: the file attached when the message had to be cut. */
export function renderSummaryText(input: SummaryInput): string {
  const { plan, result } = input;
  const after = result.topologyAfter;
  const lines = [
    `Failover ${result.runId} on ${result.cluster}: ${outcomeText(input)}`,
    `Requested by ${input.requester}${input.approver ? `; approved by ${input.approver}` : ""}. Total time ${seconds(result.durationMs)}.`,
    `Data-loss exposure: ${plan.exposure}`,
    "",
    `Topology before (${utcText(input.topologyBefore.observedAt)}):`,
    ...input.topologyBefore.nodes.map((node) => `  ${describeNode(node)}`),
    "",
    after ? `Topology after (${utcText(after.observedAt)}):` : "Topology after: not observed.",
    ...(after?.nodes ?? []).map((node) => `  ${describeNode(node)}`),
    "",
    "Steps:",
    ...result.steps.map((step) => `  ${stepLine(step)}`),
  ];
  const warnings = allWarnings(result);
  if (warnings.length > 0) lines.push("", "Warnings:", ...warnings.map((w) => `  ! ${w}`));
  if (result.nextActions.length > 0)
    lines.push("", "What remains to do:", ...result.nextActions.map((a) => `  - ${a}`));
  return lines.join("\n");
}

/** The run's warnings and its steps' warnings, each once. */
export function allWarnings(result: RunResult): string[] {
  return [...new Set([...result.warnings, ...result.steps.flatMap((step) => step.warnings)])];
}
