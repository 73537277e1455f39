import type { ClusterConfig } from "../config/inventory.js";
import { errorMessage } from "../errors.js";
import type { RedisNode } from "../redis/node.js";
import { sentinelMaster, sentinelReplicas } from "../redis/sentinel.js";
import type { EndpointNames } from "./endpoint-names.js";
import type { NodeState, SentinelState, SentinelView } from "./types.js";

/** How discovery reaches the declared Sentinels (the engine's connection pool provides it). */
export interface SentinelAccess {
  sentinel(endpoint: { host: string; port: number }): RedisNode;
}

/** A majority of the declared Sentinels: what must agree before a run ends. */
export function sentinelMajority(count: number): number {
  return Math.floor(count / 2) + 1;
}

/** Asks every declared Sentinel, at once, what it knows of the master. */
export async function probeSentinels(
  cluster: ClusterConfig,
  access: SentinelAccess,
): Promise<SentinelState[]> {
  const declared = cluster.sentinel;
  if (!declared) return [];
  return Promise.all(
    declared.hosts.map((endpoint) =>
      probeSentinel(endpoint, access.sentinel(endpoint), declared.masterName),
    ),
  );
}

/** Puts the inventory's names on the addresses the Sentinels report. */
export function nameSentinelAddresses(sentinels: SentinelState[], names: EndpointNames): void {
  for (const sentinel of sentinels) {
    for (const entry of [sentinel.master, ...(sentinel.replicas ?? [])]) {
      const name = entry && names.nameOf(entry.host, entry.port);
      if (entry && name) entry.hostName = name;
    }
  }
}

async function probeSentinel(
  endpoint: { host: string; port: number },
  node: RedisNode,
  masterName: string,
): Promise<SentinelState> {
  const state: SentinelState = { host: endpoint.host, port: endpoint.port, reachable: false };
  try {
    const master = await sentinelMaster(node, masterName);
    state.reachable = true;
    state.monitors = master !== undefined;
    if (!master) return state;
    state.master = { host: master.ip, port: master.port };
    state.flags = master.flags;
    state.quorum = master.settings.quorum;
    state.downAfterMs = master.settings.downAfterMs;
    state.failoverTimeoutMs = master.settings.failoverTimeoutMs;
    state.parallelSyncs = master.settings.parallelSyncs;
    state.otherSentinels = master.otherSentinels;
    const [replicas, ckquorum] = await Promise.all([
      sentinelReplicas(node, masterName),
      node.call("SENTINEL", "CKQUORUM", masterName).then(
        () => "ok",
        (error: unknown) => errorMessage(error).replace(/^.*refused SENTINEL: /, ""),
      ),
    ]);
    state.ckquorum = ckquorum;
    state.replicas = replicas.map((replica) => ({
      host: replica.ip,
      port: replica.port,
      flags: replica.flags,
      priority: replica.priority,
      offset: replica.offset,
      runId: replica.runId,
    }));
  } catch (error) {
    state.error = errorMessage(error);
  }
  return state;
}

/** Whether a quorum of Sentinels name one master, and every way they differ from each other or the servers. */
export function judgeSentinels(
  masterName: string,
  sentinels: SentinelState[],
  nodes: readonly NodeState[],
): SentinelView {
  const quorum = sentinelMajority(sentinels.length);
  const where = (sentinel: SentinelState) => `Sentinel ${sentinel.host}:${sentinel.port}`;
  const named = (master: NonNullable<SentinelState["master"]>) =>
    master.hostName ?? `${master.host}:${master.port}`;
  const votes = new Map<string, { master: NonNullable<SentinelState["master"]>; count: number }>();
  const disagreements: string[] = [];
  for (const sentinel of sentinels) {
    if (!sentinel.reachable) {
      disagreements.push(`${where(sentinel)} does not answer: ${sentinel.error ?? "no reply"}`);
      continue;
    }
    if (!sentinel.monitors || !sentinel.master) {
      disagreements.push(`${where(sentinel)} does not monitor ${masterName}`);
      continue;
    }
    const key = `${sentinel.master.host}:${sentinel.master.port}`;
    const vote = votes.get(key) ?? { master: sentinel.master, count: 0 };
    vote.count += 1;
    votes.set(key, vote);
    const down = (sentinel.flags ?? []).filter((flag) => /down|failover/.test(flag));
    if (down.length > 0)
      disagreements.push(`${where(sentinel)} flags ${named(sentinel.master)}: ${down.join(",")}`);
  }
  const view: SentinelView = { masterName, sentinels, quorum, disagreements };
  if (votes.size > 1) {
    disagreements.unshift(
      `the Sentinels name different masters: ${[...votes.values()]
        .map((vote) => `${named(vote.master)} (${vote.count})`)
        .join(", ")}`,
    );
  }
  const best = [...votes.values()].sort((a, b) => b.count - a.count)[0];
  if (best && best.count >= quorum) {
    view.agreed = best.master;
    const node = nodes.find(
      (candidate) =>
        candidate.name === best.master.hostName ||
        (candidate.host === best.master.host && candidate.port === best.master.port),
    );
    const masters = nodes.filter((candidate) => candidate.reachable && candidate.role === "master");
    if (node?.reachable && node.role !== "master") {
      disagreements.push(
        `the Sentinels name ${named(best.master)} as master, but it answers as a ${node.role ?? "server of unknown role"}`,
      );
    }
    for (const master of masters) {
      if (master !== node)
        disagreements.push(
          `${master.name} answers as master, but the Sentinels name ${named(best.master)}`,
        );
    }
  } else {
    disagreements.push(
      `no ${quorum} of the ${sentinels.length} declared Sentinels agree on a master`,
    );
  }
  return view;
}
