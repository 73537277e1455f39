import type { HostRef, Plan, StepSpec } from "../plan/types.js";
import type { NodeState, Topology } from "../topology/types.js";

type Recheck = Extract<StepSpec, { kind: "recheck" }>;

/**
 * What changed, against the premises of the steps a resumed run still has to take (from
 * `fromStep` on). Pure: the caller reads the topology. Empty when the run can safely go on.
 *
 * - the old master is still down (a switchover: the roles are as the plan left them);
 * - the new master answers as master, if a step already made it one;
 * - until then, the spare is still silent and the servers the plan relies on keep their roles.
 */
export function resumeProblems(
  plan: Plan,
  topology: Topology,
  fromStep: number,
  /** Whether step `fromStep` was in progress when the run stopped: it may have taken effect. */
  inFlight = false,
): string[] {
  const node = (ref: HostRef) => topology.nodes.find((candidate) => candidate.name === ref.name);
  const isMaster = (state: NodeState | undefined) => state?.reachable && state.role === "master";
  const done = plan.steps.filter((step) => step.index < fromStep);
  const recheck = plan.steps.find((step) => step.spec.kind === "recheck")?.spec as
    | Recheck
    | undefined;
  const newMaster = node(plan.newMaster);
  const startsNewMaster = (step: Plan["steps"][number]) =>
    ((step.spec.kind === "start-redis" || step.spec.kind === "promote") &&
      step.spec.host.name === plan.newMaster.name) ||
    step.spec.kind === "switchover" ||
    step.spec.kind === "sentinel-failover";
  // A copy whose command also starts Redis after the install (copy-rdb thenStart).
  const copyStartsNewMaster = (step: Plan["steps"][number]) =>
    step.spec.kind === "copy-rdb" &&
    step.spec.thenStart !== undefined &&
    step.spec.to.name === plan.newMaster.name;
  const started = done.some(startsNewMaster);
  const copyMayHaveStarted =
    !started &&
    (done.some(copyStartsNewMaster) ||
      (inFlight &&
        plan.steps.some((step) => step.index === fromStep && copyStartsNewMaster(step))));
  // The interrupted step may or may not have made the new master one: both are as planned.
  const maybeStarted =
    !started &&
    (copyMayHaveStarted ||
      (inFlight && plan.steps.some((step) => step.index === fromStep && startsNewMaster(step))));
  const problems: string[] = [];

  if (recheck?.expectMaster === "down") {
    const old = node(recheck.master);
    if (isMaster(old))
      problems.push(
        `${recheck.master.name} answers as master again (${old?.keys ?? 0} keys): someone repaired it`,
      );
  } else if (recheck && !started && !maybeStarted) {
    const old = node(recheck.master);
    if (!isMaster(old))
      problems.push(
        `${recheck.master.name} is no longer the master (${old?.error ?? old?.role ?? "gone"})`,
      );
  }

  if (started) {
    if (!isMaster(newMaster))
      problems.push(
        `the new master ${plan.newMaster.name} is not answering as master (${newMaster?.error ?? newMaster?.role ?? "gone"})`,
      );
  } else if (maybeStarted) {
    if (newMaster?.reachable && newMaster.role !== "master" && plan.mode !== "promote")
      problems.push(
        `the new master ${plan.newMaster.name} answers as a ${newMaster.role ?? "server of unknown role"}`,
      );
    // Only the spare may have changed: every other server keeps the premises below.
    if (copyMayHaveStarted && recheck) rolePremises(recheck, plan.newMaster.name);
  } else if (recheck) rolePremises(recheck);

  function rolePremises(recheck: Recheck, except?: string): void {
    for (const ref of recheck.mustBeSilent) {
      if (ref.name === except) continue;
      const state = node(ref);
      if (state?.reachable)
        problems.push(`Redis now runs on ${ref.name} (${state.role}, ${state.keys ?? 0} keys)`);
    }
    for (const { ref, role } of recheck.mustAnswer) {
      if (ref.name === except) continue;
      const state = node(ref);
      if (!state?.reachable) problems.push(`${ref.name} no longer answers`);
      else if (state.role !== role)
        problems.push(
          `${ref.name} is now a ${state.role ?? "server of unknown role"}, not a ${role}`,
        );
    }
  }

  // Whoever else answers as master now was made one by someone other than this run.
  const expected = new Set<string>([
    ...(started || maybeStarted ? [plan.newMaster.name] : []),
    ...(recheck?.expectMaster === "up" && !started ? [recheck.master.name] : []),
    ...(plan.mode === "fence" ? [plan.newMaster.name] : []),
  ]);
  for (const state of topology.nodes) {
    if (!isMaster(state) || expected.has(state.name)) continue;
    if (recheck?.expectMaster === "down" && state.name === recheck.master.name) continue;
    if (plan.mode === "fence" && plan.steps.some((step) => step.host === state.name)) continue;
    problems.push(`${state.name} answers as master (${state.keys ?? 0} keys)`);
  }
  return problems;
}
