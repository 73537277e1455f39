import { describeNode } from "../topology/describe.js";
import type { Plan, Refusal } from "./types.js";

/** The plan as plain text: what the CLI prints and what an approver reads before saying yes. */
export function renderPlanText(plan: Plan): string {
  const lines = [
    `Plan ${plan.runId} for ${plan.cluster}: ${plan.mode.toUpperCase()} — new master ${plan.newMaster.name} (${plan.newMaster.host}:${plan.newMaster.port})`,
    `Why ${plan.mode}: ${plan.modeReason}`,
    "",
    "Preflight:",
    ...plan.topology.nodes.map((node) => `  ${describeNode(node)}`),
    ...(plan.assessment.evidence.length
      ? [`  Evidence: ${plan.assessment.evidence.join("; ")}`]
      : []),
  ];
  if (plan.candidates.length > 0) {
    lines.push("", "Candidates (Sentinel's order: priority, then offset):");
    for (const candidate of plan.candidates) {
      const heard =
        candidate.lastHeardSecondsAgo !== undefined
          ? `, last heard from master ${candidate.lastHeardSecondsAgo} s ago`
          : "";
      const status = candidate.eligible ? "eligible" : `not eligible: ${candidate.reason}`;
      lines.push(
        `  ${candidate.name}: offset ${candidate.offset} (${candidate.behindBestBytes} bytes behind the best), priority ${candidate.priority}${heard} — ${status}`,
      );
    }
  }
  lines.push("", `Data-loss exposure: ${plan.exposure}`, "", "Steps:");
  for (const step of plan.steps) {
    lines.push(`  ${step.index}. ${step.title}`);
    for (const command of step.commands) lines.push(`       ${command}`);
    if (step.risk) lines.push(`       risk: ${step.risk}`);
  }
  if (plan.risks.length > 0) {
    lines.push("", "Risks:");
    for (const risk of plan.risks) lines.push(`  - ${risk}`);
  }
  return lines.join("\n");
}

export function renderRefusalText(refusal: Refusal): string {
  return [
    `Refused: ${refusal.reason}`,
    ...(refusal.recommendedMode ? [`Recommended mode: ${refusal.recommendedMode}`] : []),
    ...(refusal.advice ? [refusal.advice] : []),
    "Nothing was changed.",
  ].join("\n");
}
