import type { Plan, PlannedStep } from "../plan/types.js";

/** What the operator should do after a failed run: the step's own advice, then the general path. */
export function nextActionsAfterFailure(
  plan: Plan,
  failed: PlannedStep,
  stepAdvice: string[],
): string[] {
  const done = plan.steps
    .filter((step) => step.index < failed.index)
    .map((step) => `${step.index}. ${step.title}`);
  return [
    ...stepAdvice,
    done.length > 0
      ? `Completed before the failure: ${done.join("; ")}. Nothing after step ${failed.index} ran.`
      : "Nothing was changed before the failure.",
    `See the current roles above (or run \`redis-failover status ${plan.cluster}\`), fix the cause, then plan again: preflight re-reads the topology.`,
  ];
}
