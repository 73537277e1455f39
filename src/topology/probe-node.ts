import type { HostConfig } from "../config/inventory.js";
import { errorMessage } from "../errors.js";
import {
  configPairs,
  connectedReplicas,
  type InfoFields,
  intField,
  keyCount,
  serverFlavour,
} from "../redis/info.js";
import type { RedisNode } from "../redis/node.js";
import type { NodeState, ReplicaLink } from "./types.js";

/** Asks one server about itself: ROLE, INFO (server, replication, persistence, keyspace), CONFIG GET. */
export async function probeNode(host: HostConfig, node: RedisNode): Promise<NodeState> {
  const state: NodeState = {
    name: host.name,
    host: host.redis.host,
    port: host.redis.port,
    reachable: false,
    replicas: [],
  };
  const started = performance.now();
  // One round trip: CONFIG may be renamed or forbidden by ACLs, so its replies are optional.
  const optional = (...args: string[]) => node.call(...(args as [string])).catch(() => undefined);
  const configs = Promise.all([
    optional("CONFIG", "GET", "dir"),
    optional("CONFIG", "GET", "dbfilename"),
    optional("CONFIG", "GET", "min-replicas-to-write"),
    optional("CONFIG", "GET", "min-replicas-max-lag"),
    optional("COMMAND", "INFO", "FAILOVER"),
    optional("CONFIG", "GET", "repl-ping-replica-period"),
    optional("CONFIG", "GET", "repl-timeout"),
    // Every Sentinel that watches a server subscribes to this channel on it.
    optional("PUBSUB", "NUMSUB", "__sentinel__:hello"),
  ]);
  try {
    const [role, info] = await Promise.all([node.call("ROLE"), node.info()]);
    state.latencyMs = Math.round(performance.now() - started);
    state.reachable = true;
    applyInfo(state, info, role);
  } catch (error) {
    state.error = errorMessage(error);
    return state;
  }
  const [dir, dbfilename, minReplicas, maxLag, failover, pingPeriod, replTimeout, hello] =
    await configs;
  if (Array.isArray(hello)) state.sentinelSubscribers = Number(hello[1] ?? 0);
  if (Array.isArray(failover))
    state.failoverCommand = failover[0] !== null && failover[0] !== undefined;
  const dirValue = configPairs(dir).get("dir");
  const dbfilenameValue = configPairs(dbfilename).get("dbfilename");
  const minReplicasValue = configPairs(minReplicas).get("min-replicas-to-write");
  if (dirValue) state.dir = dirValue;
  if (dbfilenameValue) state.dbfilename = dbfilenameValue;
  if (minReplicasValue !== undefined) state.minReplicasToWrite = Number(minReplicasValue);
  const maxLagValue = configPairs(maxLag).get("min-replicas-max-lag");
  if (maxLagValue !== undefined) state.minReplicasMaxLag = Number(maxLagValue);
  const period = Number(configPairs(pingPeriod).get("repl-ping-replica-period"));
  if (Number.isFinite(period) && period > 0) state.replPingPeriod = period;
  const timeout = Number(configPairs(replTimeout).get("repl-timeout"));
  if (Number.isFinite(timeout) && timeout > 0) state.replTimeout = timeout;
  return state;
}

export function applyInfo(state: NodeState, info: InfoFields, role?: unknown): void {
  const roleName = Array.isArray(role) ? String(role[0]) : info.get("role");
  if (roleName === "master") state.role = "master";
  else if (roleName === "slave") state.role = "replica";
  const version = info.get("redis_version");
  if (version) state.version = version;
  const server = serverFlavour(info);
  if (server) state.server = server;
  const runId = info.get("run_id");
  if (runId) state.runId = runId;
  state.loading = info.get("loading") === "1";
  state.keys = keyCount(info);
  const replid = info.get("master_replid");
  if (replid) state.replicationId = replid;
  const lastSave = intField(info, "rdb_last_save_time");
  if (lastSave !== undefined) state.lastSaveTime = lastSave;
  state.bgsaveInProgress = info.get("rdb_bgsave_in_progress") === "1";
  const bgsaveStatus = info.get("rdb_last_bgsave_status");
  if (bgsaveStatus) state.lastBgsaveStatus = bgsaveStatus;
  state.aofEnabled = info.get("aof_enabled") === "1";
  state.aofRewriteInProgress = info.get("aof_rewrite_in_progress") === "1";
  const failoverState = info.get("master_failover_state");
  if (failoverState) state.failoverState = failoverState;
  if (info.get("cluster_enabled") === "1") state.clusterEnabled = true;

  if (state.role === "replica") {
    state.master = replicaLink(info);
    const offset = intField(info, "slave_repl_offset") ?? intField(info, "master_repl_offset");
    if (offset !== undefined) state.offset = offset;
    const priority = intField(info, "slave_priority") ?? intField(info, "replica_priority");
    if (priority !== undefined) state.replicaPriority = priority;
  } else {
    const offset = intField(info, "master_repl_offset");
    if (offset !== undefined) state.offset = offset;
  }
  state.replicas = connectedReplicas(info).map((replica) => ({ ...replica }));
}

function replicaLink(info: InfoFields): ReplicaLink {
  const link: ReplicaLink = {
    host: info.get("master_host") ?? "",
    port: intField(info, "master_port") ?? 0,
    linkStatus: info.get("master_link_status") === "up" ? "up" : "down",
    syncInProgress: info.get("master_sync_in_progress") === "1",
  };
  const downSince = intField(info, "master_link_down_since_seconds");
  if (downSince !== undefined && downSince >= 0) link.linkDownSinceSeconds = downSince;
  const lastIo = intField(info, "master_last_io_seconds_ago");
  if (lastIo !== undefined && lastIo >= 0) link.lastIoSecondsAgo = lastIo;
  return link;
}
