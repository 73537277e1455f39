import type { RunEvent, RunResult } from "../../engine/events.js";
import { renderTopologyTable } from "./topology-table.js";

/** Live, human-readable progress: each step's title, its output as it arrives, then its result. */
export function runEventText(event: RunEvent, totalSteps: number): string | undefined {
  switch (event.type) {
    case "step-started":
      return `\n[${event.step.index}/${totalSteps}] ${event.step.title}`;
    case "step-output":
      return indent(event.text);
    case "step-finished":
      if (event.status === "skipped")
        return `[${event.index}/${totalSteps}] skipped: ${event.title} (${event.reason ?? ""})`;
      if (event.status === "failed")
        return `      ✗ FAILED after ${seconds(event.durationMs)}: ${event.error}`;
      return `      ✓ ok in ${seconds(event.durationMs)}`;
    default:
      return undefined;
  }
}

export function runSummaryText(result: RunResult): string {
  const lines = [""];
  if (result.ok) {
    lines.push(
      result.mode === "fence"
        ? `SUCCESS: ${result.cluster} fenced in ${seconds(result.durationMs)}; every server follows ${result.newMaster?.name} (${result.newMaster?.host}:${result.newMaster?.port}).`
        : `SUCCESS: ${result.cluster} failed over (${result.mode}) in ${seconds(result.durationMs)}; new master ${result.newMaster?.name} (${result.newMaster?.host}:${result.newMaster?.port}).`,
    );
  } else if (result.aborted) {
    lines.push(`ABORTED after ${seconds(result.durationMs)}.`);
  } else {
    lines.push(
      `FAILED at step ${result.failedStep?.index} (${result.failedStep?.title}): ${result.failedStep?.error}`,
    );
  }
  if (result.topologyAfter)
    lines.push("", "Topology now:", renderTopologyTable(result.topologyAfter));
  if (result.warnings.length > 0)
    lines.push("", "Warnings:", ...result.warnings.map((warning) => `  ! ${warning}`));
  if (result.nextActions.length > 0)
    lines.push("", "Next:", ...result.nextActions.map((action) => `  - ${action}`));
  return lines.join("\n");
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `      ${line}`)
    .join("\n");
}

export function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`;
}
