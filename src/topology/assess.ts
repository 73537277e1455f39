import type { NodeState, Topology } from "./types.js";

/**
 * Reading of a topology: which server is the master, whether it is really down (seen from
 * the bot and from every replica), and what else stands out. Pure: no I/O.
 */
export type MasterState =
  /** Answers the bot as a master. */
  | "up"
  /**
   * The bot cannot reach it and every reachable replica has lost it: the link is down, or the
   * replica has heard nothing for longer than two of the master's pings (silentMasterSeconds).
   */
  | "down"
  /** The bot cannot reach it but at least one replica still can: a partition, not a dead master. */
  | "unconfirmed";

export interface MasterView {
  /** Inventory name; undefined when replicas follow a server that is not in the inventory. */
  name?: string;
  host: string;
  port: number;
  state: MasterState;
}

export interface Assessment {
  master?: MasterView;
  /** Why the bot believes what it says about the master, one line per vantage point. */
  evidence: string[];
  /** Reachable replicas following the master. */
  replicas: NodeState[];
  /** Reachable masters other than the cluster's master (an old master back from the dead, an empty spare). */
  otherMasters: NodeState[];
  /** Hosts other than the master that do not answer (a spare with Redis stopped, a dead replica). */
  silent: NodeState[];
  /** Inconsistencies that make any automatic decision unsafe. */
  problems: string[];
}

export function assessTopology(topology: Topology): Assessment {
  const reachable = topology.nodes.filter((node) => node.reachable);
  const replicas = reachable.filter((node) => node.role === "replica" && node.master);
  const masters = reachable.filter((node) => node.role === "master");
  const evidence: string[] = [];
  const problems: string[] = [];

  const followed = groupBy(replicas, (node) => `${node.master?.host}:${node.master?.port}`);
  let master: MasterView | undefined;
  if (followed.size > 1) {
    const described = [...followed.entries()].map(
      ([endpoint, group]) => `${group.map((node) => node.name).join(", ")} follow ${endpoint}`,
    );
    problems.push(`replicas disagree on their master: ${described.join("; ")}`);
  }

  const mostFollowed = [...followed.values()].sort((a, b) => b.length - a.length)[0];
  const link = mostFollowed?.[0]?.master;
  if (link) {
    const target = topology.nodes.find((node) => node.name === link.hostName);
    master = { host: link.host, port: link.port, state: "unconfirmed" };
    if (link.hostName) master.name = link.hostName;
    else problems.push(`replicas follow ${link.host}:${link.port}, which is not in the inventory`);
    master.state = masterState(target, mostFollowed ?? [], evidence);
    if (target?.reachable && target.role === "replica") {
      problems.push(
        `${target.name} is followed by replicas but is itself a replica of ${target.master?.host}:${target.master?.port} (chained replication)`,
      );
    }
  } else if (masters.length === 1 && masters[0]) {
    const only = masters[0];
    master = { name: only.name, host: only.host, port: only.port, state: "up" };
    evidence.push(
      `bot: ${only.name} answers as master (${only.latencyMs ?? "?"} ms) with no replica reachable`,
    );
  } else if (masters.length === 0) {
    problems.push("no server answers: neither a master nor a replica is reachable");
  } else {
    problems.push(
      `${masters.map((node) => node.name).join(", ")} all answer as masters and no replica is reachable to tell which is current`,
    );
  }

  for (const node of reachable.filter((candidate) => candidate.clusterEnabled)) {
    problems.push(
      `${node.name} is a Redis Cluster node (cluster_enabled:1): it refuses REPLICAOF, and Redis Cluster elects a new master by itself (CLUSTER FAILOVER on a replica); this bot handles only master/replica setups`,
    );
  }
  const watched = sentinelWatched(topology);
  if (watched.length > 0) {
    evidence.push(
      `sentinel: ${watched.map((node) => `${node.name} has ${node.sentinelSubscribers} Sentinel(s) subscribed to __sentinel__:hello`).join(", ")}: Sentinel manages this cluster`,
    );
  }
  const otherMasters = masters.filter((node) => node.name !== master?.name);
  for (const other of otherMasters) {
    if (other.replicas.length > 0 || (other.keys ?? 0) > 0) {
      problems.push(
        `${other.name} also answers as a master (${other.keys ?? 0} keys, ${other.replicas.length} replicas): possible split brain; it must be fenced`,
      );
    }
  }
  const silent = topology.nodes.filter((node) => !node.reachable && node.name !== master?.name);
  return {
    ...(master ? { master } : {}),
    evidence,
    replicas: mostFollowed ?? [],
    otherMasters,
    silent,
    problems,
  };
}

function masterState(
  target: NodeState | undefined,
  followers: NodeState[],
  evidence: string[],
): MasterState {
  if (target?.reachable && target.role === "master") {
    evidence.push(`bot: ${target.name} answers as master (${target.latencyMs ?? "?"} ms)`);
    return "up";
  }
  evidence.push(
    target?.reachable
      ? `bot: ${target.name} answers but not as a master`
      : `bot: ${target?.name ?? "the master"} does not answer (${target?.error ?? "not in the inventory"})`,
  );
  let anyLinkUp = false;
  for (const replica of followers) {
    const replicaLink = replica.master;
    if (!replicaLink) continue;
    const silentAfter = silentMasterSeconds(replica);
    if (replicaLink.linkStatus === "up" && (replicaLink.lastIoSecondsAgo ?? 0) > silentAfter) {
      evidence.push(
        `${replica.name}: master_link_status:up but nothing heard from the master for ${replicaLink.lastIoSecondsAgo} s (more than twice repl-ping-replica-period, ${silentAfter} s): the master is silent`,
      );
    } else if (replicaLink.linkStatus === "up") {
      anyLinkUp = true;
      evidence.push(
        `${replica.name}: master_link_status:up (last heard ${replicaLink.lastIoSecondsAgo ?? "?"} s ago)`,
      );
    } else {
      const since = replicaLink.linkDownSinceSeconds;
      evidence.push(
        `${replica.name}: master_link_status:down${since !== undefined ? ` for ${since} s` : ""}`,
      );
    }
  }
  if (target?.reachable) return "unconfirmed";
  return anyLinkUp ? "unconfirmed" : "down";
}

/**
 * A master pings its replicas every repl-ping-replica-period (10 s by default); a replica that
 * has heard nothing for two whole periods has missed at least one ping, so its master is silent
 * even though repl-timeout (60 s) has not yet marked the link down. With the defaults a hung
 * master is confirmed 10 to 20 s after it stopped: before Sentinel's default down-after (30 s).
 */
export function silentMasterSeconds(replica: NodeState): number {
  return 2 * (replica.replPingPeriod ?? 10);
}

/** Servers some Sentinel watches (it subscribes to `__sentinel__:hello` on each one). */
export function sentinelWatched(topology: Topology): NodeState[] {
  return topology.nodes.filter((node) => node.reachable && (node.sentinelSubscribers ?? 0) > 0);
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
