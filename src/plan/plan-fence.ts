import type { ClusterConfig } from "../config/inventory.js";
import { assessTopology } from "../topology/assess.js";
import type { Topology } from "../topology/types.js";
import { describeStep } from "./describe-step.js";
import { redactUrl, ref, refuse } from "./planner.js";
import type { HostRef, PlannedStep, PlanOutcome, StepSpec } from "./types.js";

export interface FencePlanInput {
  cluster: ClusterConfig;
  topology: Topology;
  runId: string;
  now: number;
  /** Fence this host only; otherwise every other master that holds data or has replicas. */
  host?: string;
}

/**
 * After a failover, an old master that returns still believes it is the master. Fencing makes
 * every such server a replica of the current master (the one the replicas follow), persistently.
 */
export function planFence(input: FencePlanInput): PlanOutcome {
  const { cluster, topology } = input;
  if (input.host && !cluster.hosts.some((host) => host.name === input.host)) {
    return refuse(`cluster ${cluster.name} has no host "${input.host}"`);
  }
  const assessment = assessTopology(topology);
  const master = assessment.master;
  if (!master?.name || master.state !== "up" || assessment.replicas.length === 0) {
    return refuse(
      "cannot tell which server is the current master: fencing needs a master that answers and replicas that follow it",
      {
        advice: "Run status to see the topology.",
      },
    );
  }
  const masterHost = cluster.hosts.find((host) => host.name === master.name);
  if (!masterHost) return refuse(`the current master ${master.name} is not in the inventory`);
  const newMaster = ref(masterHost);
  const stale = assessment.otherMasters.filter((node) =>
    input.host ? node.name === input.host : (node.keys ?? 0) > 0 || node.replicas.length > 0,
  );
  if (stale.length === 0) {
    return refuse(
      input.host
        ? `${input.host} does not answer as a master; nothing to fence`
        : `no stale master found: every server answering as master besides ${master.name} is empty (a spare?); name one with --host to fence it anyway`,
    );
  }
  const targets: HostRef[] = stale.map((node) =>
    ref(cluster.hosts.find((host) => host.name === node.name) ?? masterHost),
  );
  const announce: StepSpec = { kind: "announce", newMaster, reconnectClientsOn: targets };
  if (cluster.discovery)
    announce.discovery = { url: redactUrl(cluster.discovery.url), key: cluster.discovery.key };
  const specs: StepSpec[] = [
    ...targets.map((target): StepSpec => ({ kind: "fence", host: target, newMaster })),
    announce,
  ];
  const steps: PlannedStep[] = specs.map((spec, i) => ({
    index: i + 1,
    ...describeStep(spec, input.runId),
    spec,
  }));
  return {
    ok: true,
    plan: {
      runId: input.runId,
      cluster: cluster.name,
      createdAt: input.now,
      mode: "fence",
      modeReason: `${master.name} is the master its replicas follow; ${stale.map((node) => `${node.name} (${node.keys ?? 0} keys)`).join(", ")} also answer as master`,
      oldMaster: targets[0] as HostRef,
      newMaster,
      candidates: [],
      exposure: `Writes that reached ${stale.map((node) => node.name).join(", ")} while they acted as master are discarded when they resync from ${master.name}.`,
      steps,
      risks: [`Fenced servers discard their own data and load ${master.name}'s.`],
      topology,
      assessment,
      hostFacts: [],
    },
  };
}
