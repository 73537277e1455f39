import type { ClusterConfig, HostConfig } from "../config/inventory.js";
import { assessTopology } from "../topology/assess.js";
import type { Topology } from "../topology/types.js";
import { describeStep } from "./describe-step.js";
import { redactUrl, ref, refuse } from "./planner.js";
import type { HostRef, PlannedStep, PlanOutcome, StepSpec } from "./types.js";

/** What the front end knows from its own records; the engine never reads the journal itself. */
export interface FenceHint {
  /** The last successful failover of this cluster, from the journal. */
  lastRun?: { runId: string; newMaster: HostRef };
}

export interface FencePlanInput {
  cluster: ClusterConfig;
  topology: Topology;
  runId: string;
  now: number;
  /** Fence this host only; otherwise every other master that holds data or has replicas. */
  host?: string;
  hint?: FenceHint;
  /** The discovery key as read now: the address clients are told, or why it could not be read. */
  discovery?: { value?: { host: string; port: number }; error?: string };
}

interface Source {
  what: string;
  name?: string;
  endpoint: string;
}

/**
 * After a failover, an old master that returns still believes it is the master. Fencing makes
 * every such server a replica of the current master, persistently. The current master is, in
 * this order of trust: the new master of the last successful run (the journal), then the
 * discovery key (what clients are told), then what the replicas follow. The two records must
 * agree, and the server they name must answer as a master; anything else is a conflict that a
 * person resolves, and it is named.
 */
export function planFence(input: FencePlanInput): PlanOutcome {
  const { cluster, topology } = input;
  if (input.host && !cluster.hosts.some((host) => host.name === input.host)) {
    return refuse(`cluster ${cluster.name} has no host "${input.host}"`);
  }
  const assessment = assessTopology(topology);
  const clusterNodes = topology.nodes.filter((node) => node.reachable && node.clusterEnabled);
  if (clusterNodes.length > 0) {
    return refuse(
      assessment.problems.filter((problem) => /cluster_enabled/.test(problem)).join("; "),
    );
  }
  const sources: Source[] = [];
  const lastRun = input.hint?.lastRun;
  if (lastRun) {
    sources.push({
      what: `the journal (run ${lastRun.runId} made it master)`,
      ...named(cluster, lastRun.newMaster),
    });
  }
  if (input.discovery?.value) {
    sources.push({
      what: `the discovery key ${cluster.discovery?.key ?? ""}`.trim(),
      ...named(cluster, input.discovery.value),
    });
  }
  const records = sources.length;
  const followed = new Set(
    assessment.replicas.map((node) => `${node.master?.host}:${node.master?.port}`),
  );
  const allReplicas = topology.nodes.filter((node) => node.reachable && node.role === "replica");
  const replicaTargets = new Set(
    allReplicas.map((node) => node.master?.hostName ?? `${node.master?.host}:${node.master?.port}`),
  );
  if (assessment.master && replicaTargets.size === 1 && followed.size === 1) {
    sources.push({
      what: "the replicas",
      endpoint: `${assessment.master.host}:${assessment.master.port}`,
      ...(assessment.master.name ? { name: assessment.master.name } : {}),
    });
  }
  const evidence = sources.map((source) => `${source.what}: ${source.name ?? source.endpoint}`);
  const first = sources[0];
  if (!first) {
    return refuse(
      `cannot tell which server is the current master: no successful run in the journal, ${input.discovery?.error ? `the discovery key could not be read (${input.discovery.error})` : "no discovery key"}, and the replicas ${replicaTargets.size > 1 ? `disagree (${[...replicaTargets].join(", ")})` : "follow no single master"}`,
      { advice: "Run status to see the topology, then fence with the current master in place." },
    );
  }
  const recordsDisagree = sources
    .slice(0, records)
    .some((source) => source.endpoint !== first.endpoint);
  if (recordsDisagree) {
    return refuse(
      `the records disagree on the current master: ${evidence.slice(0, records).join("; ")}`,
      {
        advice:
          "Someone changed the topology outside the bot, or a run was not recorded. Decide which server is the master, point the discovery key at it, then fence again.",
      },
    );
  }
  if (!first.name) {
    return refuse(
      `${first.what} names ${first.endpoint}, which is not a host of cluster ${cluster.name}`,
    );
  }
  const currentNode = topology.nodes.find((node) => node.name === first.name);
  if (!currentNode?.reachable || currentNode.role !== "master") {
    return refuse(
      `${first.what} names ${first.name} as the current master, but it ${
        !currentNode?.reachable
          ? `does not answer (${currentNode?.error ?? "no reply"})`
          : `is a replica of ${currentNode.master?.hostName ?? `${currentNode.master?.host}:${currentNode.master?.port}`}`
      }`,
      {
        advice:
          "Fencing only makes sense behind a master that answers. Check status; if another server is really the master, point the discovery key at it first.",
      },
    );
  }
  const masterHost = hostNamed(cluster, first.name);
  const newMaster = ref(masterHost);
  const otherMasters = topology.nodes.filter(
    (node) => node.reachable && node.role === "master" && node.name !== first.name,
  );
  const stale = otherMasters.filter((node) =>
    input.host ? node.name === input.host : (node.keys ?? 0) > 0 || node.replicas.length > 0,
  );
  if (stale.length === 0) {
    return refuse(
      input.host
        ? `${input.host} does not answer as a master besides ${first.name}; nothing to fence`
        : `no stale master found: every server answering as master besides ${first.name} is empty (a spare?); name one with --host to fence it anyway`,
    );
  }
  const targets: HostRef[] = stale.map((node) => ref(hostNamed(cluster, node.name)));
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
  const chained = allReplicas.filter((node) =>
    stale.some((other) => other.name === node.master?.hostName),
  );
  return {
    ok: true,
    plan: {
      runId: input.runId,
      cluster: cluster.name,
      createdAt: input.now,
      mode: "fence",
      modeReason: `${first.name} is the current master (${evidence.join("; ")}); ${stale.map((node) => `${node.name} (${node.keys ?? 0} keys)`).join(", ")} also answer as master`,
      oldMaster: targets[0] as HostRef,
      newMaster,
      candidates: [],
      exposure: `Before a fenced server resynchronises from ${first.name}, its replication ID and offset are compared with ${first.name}'s; if it holds writes ${first.name} lacks, its dataset is first saved and kept on its disk as <dbfilename>.before-${input.runId}.`,
      steps,
      risks: [
        `Fenced servers then load ${first.name}'s data; their own is kept on their disk only when it diverged.`,
        ...chained.map(
          (node) =>
            `${node.name} follows ${node.master?.hostName}, which is fenced: it then replicates through it (chained), with ${first.name}'s data.`,
        ),
      ],
      topology,
      assessment,
      hostFacts: [],
    },
  };
}

function named(
  cluster: ClusterConfig,
  endpoint: { host: string; port: number },
): { name?: string; endpoint: string } {
  const host = cluster.hosts.find(
    (candidate) => candidate.redis.host === endpoint.host && candidate.redis.port === endpoint.port,
  );
  return { endpoint: `${endpoint.host}:${endpoint.port}`, ...(host ? { name: host.name } : {}) };
}

function hostNamed(cluster: ClusterConfig, name: string): HostConfig {
  const host = cluster.hosts.find((candidate) => candidate.name === name);
  if (!host) throw new Error(`host ${name} is not in cluster ${cluster.name}`);
  return host;
}
