import type { ClusterConfig } from "../config/inventory.js";
import type { Plan, PlannedStep, StepSpec } from "../plan/types.js";
import { restoreCommands } from "./steps/sentinel.js";

/** What the operator should do after a failed run: the step's own advice, then the general path. */
export function nextActionsAfterFailure(
  plan: Plan,
  failed: PlannedStep,
  stepAdvice: string[],
  cluster?: ClusterConfig,
): string[] {
  const done = plan.steps
    .filter((step) => step.index < failed.index)
    .map((step) => `${step.index}. ${step.title}`);
  return [
    ...stepAdvice,
    ...(cluster ? sentinelLeftOut(plan, failed, cluster) : []),
    done.length > 0
      ? `Completed before the failure: ${done.join("; ")}. Nothing after step ${failed.index} ran.`
      : "Nothing was changed before the failure.",
    `See the current roles above (or run \`redis-failover status ${plan.cluster}\`), fix the cause, then plan again: preflight re-reads the topology.`,
  ];
}

/**
 * A replace that stopped after taking the master out of Sentinel's hands and before giving it
 * back leaves no Sentinel watching: the exact commands to put them back, either way.
 */
function sentinelLeftOut(plan: Plan, failed: PlannedStep, cluster: ClusterConfig): string[] {
  const removed = plan.steps.find(
    (step) => step.spec.kind === "sentinel-remove" && step.index < failed.index,
  )?.spec as Extract<StepSpec, { kind: "sentinel-remove" }> | undefined;
  if (!removed) return [];
  return [
    `No Sentinel watches ${removed.masterName} now (step "Take ${removed.masterName} out of Sentinel's hands" ran). To put the Sentinels back as they were, on ${removed.oldMaster.name}: ${restoreCommands({ cluster, plan }, removed.masterName, removed.sentinels, removed.oldMaster).join(" ; ")}`,
    `Or, once ${plan.newMaster.name} is the master (finished by hand): ${restoreCommands({ cluster, plan }, removed.masterName, removed.sentinels, plan.newMaster).join(" ; ")}`,
  ];
}
