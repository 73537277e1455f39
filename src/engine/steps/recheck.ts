import { FailoverError } from "../../errors.js";
import type { StepSpec } from "../../plan/types.js";
import { assessTopology } from "../../topology/assess.js";
import { describeNode } from "../../topology/describe.js";
import { discoverTopology } from "../../topology/discover.js";
import type { StepImplementation } from "../step-context.js";

type Spec = Extract<StepSpec, { kind: "recheck" }>;

/** Approval can take minutes: before changing anything, confirm the plan's premises still hold. */
export const recheck: StepImplementation<Spec> = {
  async run(spec, context) {
    // A server the plan found silent is probed again, but waited on only briefly.
    for (const node of context.plan.topology.nodes)
      if (!node.reachable) context.connections.redis(node.name).expectSilence?.();
    const topology = await discoverTopology(context.cluster, context.connections);
    for (const node of topology.nodes) context.output(describeNode(node));
    const assessment = assessTopology(topology);
    if (assessment.evidence.length > 0)
      context.output(`Evidence: ${assessment.evidence.join("; ")}`);
    const problems: string[] = [];
    const master = topology.nodes.find((node) => node.name === spec.master.name);
    if (spec.expectMaster === "down") {
      if (master?.reachable && master.role === "master") {
        problems.push(`${spec.master.name} answers as master again: plan a switchover instead`);
      } else if (
        assessment.master?.name === spec.master.name &&
        assessment.master.state !== "down"
      ) {
        problems.push(
          `${spec.master.name} is no longer confirmed down: ${assessment.evidence.join("; ")}`,
        );
      }
    } else if (!(master?.reachable && master.role === "master")) {
      problems.push(
        `${spec.master.name} no longer answers as master (${master?.error ?? master?.role ?? "gone"})`,
      );
    }
    for (const { ref, role } of spec.mustAnswer) {
      const node = topology.nodes.find((candidate) => candidate.name === ref.name);
      if (!node?.reachable)
        problems.push(`${ref.name} no longer answers (${node?.error ?? "gone"})`);
      else if (node.role !== role)
        problems.push(
          `${ref.name} is now a ${node.role ?? "server of unknown role"}, not a ${role}`,
        );
      else if (role === "replica" && node.master?.hostName !== spec.master.name) {
        problems.push(
          `${ref.name} now follows ${node.master?.host}:${node.master?.port}, not ${spec.master.name}`,
        );
      }
    }
    for (const ref of spec.mustBeSilent) {
      const node = topology.nodes.find((candidate) => candidate.name === ref.name);
      if (node?.reachable)
        problems.push(`Redis now runs on ${ref.name} (${node.role}, ${node.keys ?? 0} keys)`);
    }
    if (problems.length > 0) {
      throw new FailoverError(
        "VERIFY_FAILED",
        `the topology changed since the plan: ${problems.join("; ")}`,
      );
    }
    context.output("The plan's premises still hold.");
  },
  advice() {
    return ["Nothing was changed. Plan again: the new plan will reflect the current topology."];
  },
};
