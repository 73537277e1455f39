import type { ClusterConfig } from "../config/inventory.js";
import { EndpointNames } from "./endpoint-names.js";
import type { NodeAccess } from "./node-access.js";
import { probeNode } from "./probe-node.js";
import { judgeSentinels, nameSentinelAddresses, probeSentinels } from "./sentinel-view.js";
import type { Topology } from "./types.js";

/** Probes every host of the cluster at once; a hung host costs one timeout, not one per host. */
export async function discoverTopology(
  cluster: ClusterConfig,
  connections: NodeAccess,
  now: () => number = Date.now,
): Promise<Topology> {
  const sentinelAccess = connections.sentinel?.bind(connections);
  const [names, nodes, sentinels] = await Promise.all([
    EndpointNames.build(cluster),
    Promise.all(cluster.hosts.map((host) => probeNode(host, connections.redis(host.name)))),
    sentinelAccess && cluster.sentinel
      ? probeSentinels(cluster, { sentinel: sentinelAccess })
      : Promise.resolve(undefined),
  ]);
  for (const node of nodes) {
    if (node.master) {
      const name = names.nameOf(node.master.host, node.master.port);
      if (name) node.master.hostName = name;
    }
    for (const replica of node.replicas) {
      const name = names.nameOf(replica.ip, replica.port);
      if (name) replica.hostName = name;
    }
  }
  const topology: Topology = { cluster: cluster.name, observedAt: now(), nodes };
  if (cluster.sentinel && sentinels) {
    nameSentinelAddresses(sentinels, names);
    topology.sentinel = judgeSentinels(cluster.sentinel.masterName, sentinels, nodes);
  }
  return topology;
}
