import type { ClusterConfig, HostConfig } from "../../src/config/inventory.js";
import { clusterSchema } from "../../src/config/inventory-schema.js";
import type { HostFacts, NodeState, Topology } from "../../src/topology/types.js";

/** Builders for pure planner tests: a cluster of named hosts and what each one reported. */
export function host(name: string, index: number, overrides: Partial<HostConfig> = {}): HostConfig {
  return {
    name,
    redis: { host: `10.0.0.${index}`, port: 6379 },
    transport: {
      kind: "ssh",
      ssh: {
        host: `10.0.0.${index}`,
        port: 22,
        user: "root",
        privateKeyFile: "/keys/id",
        knownHostsFile: "/keys/known_hosts",
        connectTimeoutMs: 1000,
      },
    },
    dir: "/var/lib/redis",
    dbfilename: "dump.rdb",
    start: "sudo /etc/init.d/redis-server start",
    ...overrides,
  };
}

export function cluster(
  hosts: HostConfig[],
  overrides: Partial<ClusterConfig> = {},
): ClusterConfig {
  const defaults = clusterSchema.parse({
    hosts: { x: { redis: { host: "h" } }, y: { redis: { host: "i" } } },
  });
  return {
    name: "cache-prod",
    approvers: [],
    channels: [],
    snapshot: defaults.snapshot,
    timeouts: defaults.timeouts,
    hosts,
    ...overrides,
  };
}

export function down(config: HostConfig, error = "connection refused"): NodeState {
  return {
    name: config.name,
    host: config.redis.host,
    port: config.redis.port,
    reachable: false,
    error,
    replicas: [],
  };
}

export function master(
  config: HostConfig,
  replicas: Array<{ of: HostConfig; offset: number }> = [],
  extra: Partial<NodeState> = {},
): NodeState {
  return {
    name: config.name,
    host: config.redis.host,
    port: config.redis.port,
    reachable: true,
    role: "master",
    version: "7.0.15",
    offset: Math.max(0, ...replicas.map((replica) => replica.offset)),
    keys: 1000,
    replicas: replicas.map(({ of, offset }) => ({
      ip: of.redis.host,
      port: of.redis.port,
      hostName: of.name,
      state: "online",
      offset,
      lag: 0,
    })),
    ...extra,
  };
}

export function replica(
  config: HostConfig,
  of: HostConfig,
  options: {
    offset: number;
    link: "up" | "down";
    downSince?: number;
    priority?: number;
    syncing?: boolean;
  } & Partial<NodeState>,
): NodeState {
  const { offset, link, downSince, priority, syncing, ...extra } = options;
  const node: NodeState = {
    name: config.name,
    host: config.redis.host,
    port: config.redis.port,
    reachable: true,
    role: "replica",
    version: "7.0.15",
    offset,
    keys: 1000,
    replicaPriority: priority ?? 100,
    master: {
      host: of.redis.host,
      port: of.redis.port,
      hostName: of.name,
      linkStatus: link,
      syncInProgress: syncing ?? false,
      ...(downSince !== undefined ? { linkDownSinceSeconds: downSince } : {}),
      ...(link === "up" ? { lastIoSecondsAgo: 0 } : {}),
    },
    replicas: [],
    dir: "/var/lib/redis",
    dbfilename: "dump.rdb",
    ...extra,
  };
  return node;
}

export function topology(nodes: NodeState[]): Topology {
  return { cluster: "cache-prod", observedAt: 1_700_000_000_000, nodes };
}

export function facts(name: string, overrides: Partial<HostFacts> = {}): HostFacts {
  return {
    name,
    reachable: true,
    dir: "/var/lib/redis",
    dirExists: true,
    aofFiles: [],
    tools: { sha256sum: true, redisCheckRdb: true },
    ...overrides,
  };
}
